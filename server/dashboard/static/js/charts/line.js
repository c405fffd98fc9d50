// Line charts over server-downsampled series: hover values, box zoom that refetches the visible
// step range (at full resolution once few enough points are in it), reset, log scale, smoothing.

import { plotlyText } from "../lib/dom.js";
import { CONFIG, baseLayout, loadPlotly } from "../lib/plotly.js";

/** The smoothing weight shared by every chart of the page (0 = none, 0.99 = heavy). */
export const smoothing = {
  weight: 0.6,
  charts: new Set(),
  set(weight) {
    this.weight = weight;
    for (const chart of this.charts) if (chart.smooth) chart.draw();
  },
};

/**
 * Exponential moving average with TensorBoard's debiasing (the start is not pulled towards 0);
 * null points (NaN, inf) stay gaps and do not enter the average.
 */
export function ema(values, weight) {
  const out = new Array(values.length);
  let last = 0;
  let debias = 0;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (v === null) { out[i] = null; continue; }
    last = last * weight + (1 - weight) * v;
    debias = debias * weight + (1 - weight);
    out[i] = last / debias;
  }
  return out;
}

const FEW_POINTS = 60; // below this many points a series also shows markers (one point is visible)

export class LineChart {
  /**
   * @param {HTMLElement} container
   * @param {object} options
   * @param {(range: {stepMin:number, stepMax:number}|null) => Promise<{traces: Array, meta: any}>} options.load
   *   traces: [{label, steps, values, color, dash}]
   * @param {(chart: LineChart) => void} [options.onChange] called after every load and toggle
   * @param {number} [options.height]
   */
  constructor(container, { load, onChange = () => {}, height = 270 }) {
    this.container = container;
    this.load = load;
    this.onChange = onChange;
    this.height = height;
    this.xRange = null; // [min, max] when zoomed in
    this.yRange = null; // kept when the user zoomed a box in both directions
    this.logY = false;
    this.smooth = false;
    this.traces = [];
    this.meta = null;
    this.sequence = 0; // answers to older requests are dropped
    this.bound = false;
    smoothing.charts.add(this);
  }

  get zoomed() { return this.xRange !== null; }

  /** Load the current range (everything, or the zoomed one) and draw. */
  async refresh() {
    const sequence = ++this.sequence;
    const range = this.xRange ? { stepMin: this.xRange[0], stepMax: this.xRange[1] } : null;
    const [result] = await Promise.all([this.load(range), loadPlotly()]);
    if (sequence !== this.sequence) return;
    this.traces = result.traces;
    this.meta = result.meta;
    await this.draw();
    this.onChange(this);
  }

  /** Zoom to a step range (null: everything) and fetch it. */
  zoomTo(xRange, yRange = null) {
    this.xRange = xRange;
    this.yRange = yRange;
    return this.refresh();
  }

  setLogScale(on) { this.logY = on; this.draw(); this.onChange(this); }

  setSmooth(on) { this.smooth = on; this.draw(); this.onChange(this); }

  plotTraces() {
    const out = [];
    for (const trace of this.traces) {
      const few = trace.steps.length <= FEW_POINTS;
      const line = { color: trace.color, width: 1.6, dash: trace.dash || "solid" };
      const common = { type: "scatter", x: trace.steps, y: trace.values, name: plotlyText(trace.label), connectgaps: false };
      if (this.smooth) {
        out.push({ ...common, mode: "lines", line: { ...line, width: 1 }, opacity: 0.25, hoverinfo: "skip", showlegend: false });
        out.push({ ...common, y: ema(trace.values, smoothing.weight), mode: "lines", line, hovertemplate: "%{y:.5g}" });
      } else {
        out.push({ ...common, mode: few ? "lines+markers" : "lines", marker: { size: 5 }, line, hovertemplate: "%{y:.5g}" });
      }
    }
    return out;
  }

  layout() {
    const base = baseLayout();
    return {
      ...base,
      height: this.height,
      hovermode: "x unified",
      showlegend: this.traces.length > 1,
      legend: { orientation: "h", x: 0, y: -0.18, yanchor: "top", font: { size: 11 } },
      margin: { ...base.margin, b: this.traces.length > 1 ? 30 : 34 },
      xaxis: {
        ...base.xaxis, hoverformat: ",.6~g", tickformat: "~s",
        ...(this.xRange ? { range: this.xRange.slice(), autorange: false } : { autorange: true }),
      },
      yaxis: {
        ...base.yaxis, type: this.logY ? "log" : "linear", exponentformat: "e",
        ...(this.yRange ? { range: this.yRange.slice(), autorange: false } : { autorange: true }),
      },
    };
  }

  async draw() {
    const Plotly = await loadPlotly();
    await Plotly.react(this.container, this.plotTraces(), this.layout(), CONFIG);
    if (!this.bound) {
      this.bound = true;
      this.container.on("plotly_relayout", (event) => this.onRelayout(event));
    }
  }

  onRelayout(event) {
    const pair = (axis) => {
      const a = event[`${axis}.range[0]`] ?? (event[`${axis}.range`] || [])[0];
      const b = event[`${axis}.range[1]`] ?? (event[`${axis}.range`] || [])[1];
      return a === undefined || b === undefined ? null : [Math.min(a, b), Math.max(a, b)];
    };
    const x = pair("xaxis");
    // Log axes report ranges as exponents: let plotly fit y there.
    const y = this.logY ? null : pair("yaxis");
    if (x) {
      this.zoomTo(x, y);
    } else if (y) {
      this.yRange = y; // a vertical zoom: nothing new to fetch, but keep it across redraws
    } else if (event["xaxis.autorange"] || event["yaxis.autorange"]) {
      // Reset (double click, the modebar's "reset axes"): back to the whole series.
      if (this.zoomed || this.yRange) this.zoomTo(null);
    }
  }

  destroy() {
    smoothing.charts.delete(this);
    if (window.Plotly) window.Plotly.purge(this.container);
  }
}

/** The text under a chart: how many points exist and how many are drawn. */
export function describePoints(seriesList, range) {
  const inRange = seriesList.reduce((n, s) => n + s.in_range, 0);
  const shown = seriesList.reduce((n, s) => n + s.steps.length, 0);
  const nan = seriesList.reduce((n, s) => n + s.nan, 0);
  const inf = seriesList.reduce((n, s) => n + s.inf, 0);
  const parts = [];
  const fmt = (n) => n.toLocaleString("en-US");
  if (range) parts.push(`steps ${fmt(Math.max(range[0], -1e15))}–${fmt(Math.min(range[1], 1e15))}`);
  parts.push(`${fmt(inRange)} point${inRange === 1 ? "" : "s"}`);
  parts.push(shown < inRange ? `${fmt(shown)} drawn (min/max per bucket)` : "full resolution");
  if (nan) parts.push(`${fmt(nan)} NaN`);
  if (inf) parts.push(`${fmt(inf)} ±inf`);
  return { text: parts.join(" · "), inRange, shown };
}
