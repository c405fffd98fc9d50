// IMAGE panel: a thumbnail; clicking it shows the image at full size.

import { getJSON, urls } from "../lib/api.js";
import { el } from "../lib/dom.js";
import { formatBytes } from "../lib/format.js";

let viewer = null;

/** The page's one full-size image viewer (a <dialog>, closed by Esc, a click or the button). */
function imageViewer() {
  if (viewer) return viewer;
  const image = el("img", { className: "viewer-image", alt: "" });
  const caption = el("p", { className: "viewer-caption" });
  const dialog = el("dialog", { className: "viewer", attrs: { "aria-label": "Image" } },
    el("button", { className: "button ghost viewer-close", type: "button", text: "Close", on: { click: () => dialog.close() } }),
    image, caption);
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
  document.body.append(dialog);
  viewer = { dialog, image, caption };
  return viewer;
}

export async function render(ctx) {
  const load = async () => {
    const { data } = await getJSON(urls.log(ctx.experimentId, ctx.log.name));
    const src = urls.image(ctx.experimentId, ctx.log.name, data.sha256);
    const describe = `${data.filename} · ${data.width}×${data.height} · ${formatBytes(data.size)}`;
    const thumb = el("img", { className: "thumb-image", src, alt: ctx.log.name, loading: "lazy", decoding: "async" });
    const open = () => {
      const v = imageViewer();
      v.image.src = src;
      v.image.alt = ctx.log.name;
      v.caption.textContent = `${ctx.log.name} — ${describe}`;
      v.dialog.showModal();
    };
    ctx.body.replaceChildren(el("button", { className: "thumb", type: "button", title: "Show full size", on: { click: open } }, thumb));
    ctx.foot.textContent = describe;
  };
  await load();
  return { update: load };
}
