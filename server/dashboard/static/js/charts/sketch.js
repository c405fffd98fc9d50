// A line chart drawn at once as SVG while plotly.js loads (compiling its 4.8 MB takes a second or
// more on a cold load): the same downsampled points, colours, margins, grid and axes, so the
// first screen shows its curves with the page. The plotly chart replaces it as soon as plotly is
// ready (charts/line.js), and hover, zoom and the toolbar come with it.

import { themeColors } from "../lib/plotly.js";

const SVG = "http://www.w3.org/2000/svg";
export const SKETCH_CLASS = "chart-sketch";

function node(name, attrs = {}, text = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

/** About ``count`` round ticks (1, 2 or 5 times a power of ten) covering [low, high]. */
export function niceTicks(low, high, count) {
  const span = high - low;
  if (!(span > 0) || !Number.isFinite(span)) return [low];
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  // The round step nearest the wanted one (as plotly's axes choose).
  const step = [1, 2, 5, 10].map((m) => m * power).reduce((a, b) => (Math.abs(Math.log(b / raw)) < Math.abs(Math.log(a / raw)) ? b : a));
  const ticks = [];
  for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

function tickText(value, { logY = false, time = false } = {}) {
  if (time) return new Date(value).toLocaleTimeString("en-US", { hour: "2-digit", minute: "2-digit" });
  const v = logY ? 10 ** value : value;
  const text = Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(1).replace("e+", "e")
    : Number(v.toPrecision(6)).toLocaleString("en-US", { maximumFractionDigits: 6 });
  return text.replace(/^-/, "\u2212"); // plotly's minus sign
}

/**
 * Draw ``traces`` into ``container`` as an SVG sketch (replacing an earlier one).
 * @param {HTMLElement} container
 * @param {object} spec
 * @param {Array<{x:number[], y:Array<number|null>, color:string, dash?:string, opacity?:number, markers?:boolean, fill?:Array<number|null>}>} spec.traces
 *   ``fill``: a lower edge to fill down to (a group's band)
 * @param {number} spec.height
 * @param {{l:number, r:number, t:number, b:number}} spec.margin
 * @param {[number, number] | null} spec.yRange the y range to draw (null: the data's)
 * @param {[number, number] | null} spec.xRange the x range to draw (null: the data's)
 * @param {boolean} [spec.logY] y values drawn as log10 (and yRange given in exponents)
 * @param {boolean} [spec.time] x values are milliseconds since the epoch
 */
export function drawSketch(container, { traces, height, margin, yRange = null, xRange = null, logY = false, time = false }) {
  removeSketch(container);
  const c = themeColors();
  const width = Math.max(120, container.clientWidth || 400);
  const plot = { x: margin.l, y: margin.t, w: Math.max(10, width - margin.l - margin.r), h: Math.max(10, height - margin.t - margin.b) };
  const ys = (v) => (v === null || v === undefined ? null : logY ? (v > 0 ? Math.log10(v) : null) : v);
  let [x0, x1] = xRange || [Infinity, -Infinity];
  let [y0, y1] = yRange || [Infinity, -Infinity];
  for (const t of traces) {
    if (!xRange) for (const x of t.x) { if (x < x0) x0 = x; if (x > x1) x1 = x; }
    if (!yRange) for (const series of [t.y, t.fill || []]) for (const raw of series) { const v = ys(raw); if (v === null) continue; if (v < y0) y0 = v; if (v > y1) y1 = v; }
  }
  if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  if (!yRange) { const pad = (y1 - y0) * 0.04; y0 -= pad; y1 += pad; }
  const px = (x) => plot.x + ((x - x0) / (x1 - x0)) * plot.w;
  const py = (y) => plot.y + plot.h - ((y - y0) / (y1 - y0)) * plot.h;

  const svg = node("svg", { class: SKETCH_CLASS, width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Chart (loading interaction)" });
  svg.style.display = "block";
  const font = { "font-size": 12, fill: c.text, "font-family": "system-ui, sans-serif" };
  for (const y of niceTicks(y0, y1, Math.max(2, Math.round(plot.h / 50)))) {
    svg.append(node("line", { x1: plot.x, x2: plot.x + plot.w, y1: py(y), y2: py(y), stroke: y === 0 && !logY ? c.line : c.grid }));
    svg.append(node("text", { ...font, x: plot.x - 6, y: py(y) + 4, "text-anchor": "end" }, tickText(y, { logY })));
  }
  for (const x of niceTicks(x0, x1, Math.max(2, Math.round(plot.w / 130)))) {
    svg.append(node("line", { x1: px(x), x2: px(x), y1: plot.y, y2: plot.y + plot.h, stroke: c.grid }));
    svg.append(node("text", { ...font, x: px(x), y: plot.y + plot.h + 18, "text-anchor": "middle" }, tickText(x, { time })));
  }
  const clip = `sketch-clip-${Math.random().toString(36).slice(2)}`;
  const clipPath = node("clipPath", { id: clip });
  clipPath.append(node("rect", { x: plot.x, y: plot.y, width: plot.w, height: plot.h }));
  svg.append(clipPath);
  const area = node("g", { "clip-path": `url(#${clip})` });
  svg.append(area);
  const path = (xsList, values) => {
    let d = "";
    let pen = false;
    for (let i = 0; i < xsList.length; i += 1) {
      const v = ys(values[i]);
      if (v === null) { pen = false; continue; }
      d += `${pen ? "L" : "M"}${px(xsList[i]).toFixed(1)} ${py(v).toFixed(1)}`;
      pen = true;
    }
    return d;
  };
  for (const t of traces) {
    if (t.fill) {
      const upper = path(t.x, t.y);
      const lower = path(t.x.slice().reverse(), t.fill.slice().reverse()).replace(/^M/, "L");
      if (upper) area.append(node("path", { d: `${upper}${lower}Z`, fill: t.color, "fill-opacity": 0.18, stroke: "none" }));
      continue;
    }
    const dash = { dash: "6 4", dot: "2 3", dashdot: "6 3 2 3", longdash: "10 4" }[t.dash] || "";
    area.append(node("path", {
      class: "sketch-line", d: path(t.x, t.y), fill: "none", stroke: t.color, "stroke-width": t.width || 1.6,
      "stroke-opacity": t.opacity ?? 1, "stroke-linejoin": "round", ...(dash ? { "stroke-dasharray": dash } : {}),
    }));
    if (t.markers) {
      t.x.forEach((x, i) => { const v = ys(t.y[i]); if (v !== null) area.append(node("circle", { cx: px(x), cy: py(v), r: 2.5, fill: t.color })); });
    }
  }
  svg.append(node("line", { x1: plot.x, x2: plot.x + plot.w, y1: plot.y + plot.h, y2: plot.y + plot.h, stroke: c.line }));
  container.append(svg);
  return svg;
}

/** Take the sketch out of ``container`` (plotly draws there now). */
export function removeSketch(container) {
  for (const old of container.querySelectorAll(`:scope > svg.${SKETCH_CLASS}`)) old.remove();
}

/**
 * Sketch what ``Plotly.react(container, traces, layout)`` will draw: the scatter traces (lines,
 * markers, bands filled ``tonexty``, legend-hidden ones left out) on the layout's height, margins
 * and fixed ranges. A legend at the right gets its room kept, so the plot does not move much
 * when plotly takes over.
 */
export function sketchPlotly(container, traces, layout) {
  const spec = [];
  traces.forEach((t, i) => {
    if (t.visible === "legendonly" || t.visible === false) return;
    const line = t.line || {};
    const lower = t.fill === "tonexty" && i > 0 ? traces[i - 1].y : null;
    spec.push({
      x: t.x, y: t.y, color: line.color, dash: line.dash, width: line.width,
      opacity: t.opacity, markers: String(t.mode || "").includes("markers"), fill: lower,
      hidden: line.width === 0 && !t.fill,
    });
  });
  const fixed = (axis) => (axis && axis.autorange === false && axis.range ? axis.range : null);
  const margin = { ...layout.margin, ...(layout.showlegend ? { r: layout.margin.r + 140 } : {}) };
  return drawSketch(container, {
    traces: spec.filter((t) => !t.hidden || t.fill), height: layout.height, margin,
    xRange: fixed(layout.xaxis), yRange: fixed(layout.yaxis),
    logY: layout.yaxis && layout.yaxis.type === "log", time: layout.xaxis && layout.xaxis.type === "date",
  });
}
