// IMAGE panel: the latest image as a thumbnail, a step slider through every image logged under
// the name (like TensorBoard's), and a full-size viewer with previous / next.

import { getJSON, urls } from "../lib/api.js";
import { el } from "../lib/dom.js";
import { formatBytes, formatTime } from "../lib/format.js";

let viewer = null;
const pageImages = new Map(); // log name -> its latest image, for previous / next across the page

/** The page's one full-size image viewer (a <dialog>, closed by Esc, a click or the button). */
function imageViewer() {
  if (viewer) return viewer;
  const image = el("img", { className: "viewer-image", alt: "" });
  const caption = el("p", { className: "viewer-caption" });
  const prev = el("button", { className: "button viewer-prev", type: "button", text: "‹ Previous", on: { click: () => show(viewer.index - 1) } });
  const next = el("button", { className: "button viewer-next", type: "button", text: "Next ›", on: { click: () => show(viewer.index + 1) } });
  const dialog = el("dialog", { className: "viewer", attrs: { "aria-label": "Image" } },
    el("button", { className: "button ghost viewer-close", type: "button", text: "Close", on: { click: () => dialog.close() } }),
    image, el("div", { className: "viewer-nav" }, prev, caption, next));
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft") show(viewer.index - 1);
    if (event.key === "ArrowRight") show(viewer.index + 1);
  });
  document.body.append(dialog);
  viewer = { dialog, image, caption, prev, next, items: [], index: 0 };
  return viewer;
}

/** Show item i of the viewer's list, scaled to fill the screen (small images in whole pixels). */
function show(i) {
  const v = viewer;
  if (i < 0 || i >= v.items.length) return;
  v.index = i;
  const item = v.items[i];
  const fit = Math.min((window.innerWidth * 0.9 - 32) / item.width, (window.innerHeight * 0.94 - 110) / item.height);
  const scale = fit >= 2 ? Math.min(16, Math.floor(fit)) : Math.min(1, fit) || 1;
  v.image.style.width = `${Math.round(item.width * scale)}px`;
  v.image.style.height = `${Math.round(item.height * scale)}px`;
  v.image.classList.toggle("pixelated", scale >= 2);
  v.image.src = item.src;
  v.image.alt = item.alt;
  v.caption.textContent = `${item.caption}${v.items.length > 1 ? ` · ${i + 1} of ${v.items.length}` : ""}`;
  v.prev.disabled = i === 0;
  v.next.disabled = i === v.items.length - 1;
  v.dialog.dataset.index = String(i);
}

function openViewer(items, index) {
  const v = imageViewer();
  v.items = items;
  if (!v.dialog.open) v.dialog.showModal();
  show(index);
}

export async function render(ctx) {
  let history = [];
  let position = -1; // index shown in the panel; -1 = follow the latest
  const item = (image, i) => ({
    src: urls.image(ctx.experimentId, ctx.log.name, image.sha256, history.length > 1 ? image.seq : undefined),
    width: image.width, height: image.height, alt: ctx.log.name,
    caption: `${ctx.log.name} — ${image.filename} · ${image.width}×${image.height} · ${formatBytes(image.size)}`
      + (history.length > 1 ? ` · image ${i + 1} of ${history.length}${image.created_at ? `, ${formatTime(image.created_at)}` : ""}` : ""),
  });
  const thumb = el("img", { className: "thumb-image", alt: ctx.log.name, decoding: "async" });
  const button = el("button", { className: "thumb", type: "button", title: "Show full size", on: { click: () => {
    const at = position < 0 ? history.length - 1 : position;
    if (history.length > 1) openViewer(history.map(item), at);
    else {
      const all = [...pageImages.values()];
      openViewer(all, Math.max(0, all.findIndex((x) => x.alt === ctx.log.name)));
    }
  } } }, thumb);
  const slider = el("input", { type: "range", className: "image-step", min: "0", step: "1", attrs: { "aria-label": `Image of ${ctx.log.name} to show` },
    on: { input: (e) => { position = Number(e.target.value); if (position === history.length - 1) position = -1; draw(); } } });
  const label = el("span", { className: "muted image-step-label" });
  const steps = el("div", { className: "image-steps", hidden: true }, slider, label);

  const draw = () => {
    const at = position < 0 ? history.length - 1 : position;
    const shown = item(history[at], at);
    thumb.src = shown.src;
    slider.max = String(history.length - 1);
    slider.value = String(at);
    steps.hidden = history.length < 2;
    label.textContent = `${at + 1} of ${history.length}`;
    ctx.foot.textContent = shown.caption.slice(ctx.log.name.length + 3);
    ctx.panel.dataset.images = String(history.length);
    ctx.panel.dataset.shown = String(at);
  };

  const load = async () => {
    history = (await getJSON(urls.images(ctx.experimentId, ctx.log.name))).images;
    const latest = history[history.length - 1];
    pageImages.set(ctx.log.name, { ...item(latest, history.length - 1), src: urls.image(ctx.experimentId, ctx.log.name, latest.sha256) });
    draw();
  };
  ctx.body.replaceChildren(button, steps);
  await load();
  return { update: load };
}
