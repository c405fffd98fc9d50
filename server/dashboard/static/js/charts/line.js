// Line charts over server-downsampled series: hover values, box zoom that refetches the visible
// step range (at full resolution once few enough points are in it), reset, log scale, and the
// page's one smoothing weight (computed by the server on the full-resolution series).

import { plotlyText } from "../lib/dom.js";
import { baseLayout, chartConfig, plotlyAfterFirstScreen } from "../lib/plotly.js";
import { removeSketch, sketchPlotly } from "./sketch.js";
import { xAxis } from "./xaxis.js";

/**
 * The smoothing weight shared by every chart of the page (0 = none, 0.99 = heavy): one control
 * per page sets it, and every chart refetches its series smoothed by the server.
 */
export const smoothing = {
  weight: 0,
  charts: new Set(),
  set(weight) {
    if (weight === this.weight) return;
    this.weight = weight;
    for (const chart of this.charts) chart.refresh().catch((e) => console.error(e));
  },
};

// Under this many points in its longest trace a chart also shows markers, on every trace (a
// single point is always marked, or it would not be visible at all).
const FEW_POINTS = 60;

/** A colour (#rrggbb or hsl(...)) with an alpha, for a band's fill. */
function translucent(color, alpha) {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (hex) return `rgba(${parseInt(hex[1], 16)}, ${parseInt(hex[2], 16)}, ${parseInt(hex[3], 16)}, ${alpha})`;
  if (color.startsWith("hsl(")) return color.replace("hsl(", "hsla(").replace(")", `, ${alpha})`);
  return color;
}

const isWhole = (values) => values.every((v) => v === null || Number.isInteger(v));

export class LineChart {
  /**
   * @param {HTMLElement} container
   * @param {object} options
   * @param {(range: {stepMin?:number, stepMax?:number, smoothing:number}) => Promise<{traces: Array, meta: any}>} options.load
   *   traces: [{label, steps, values, smoothed?, color, dash, band?: [lower, upper]}]
   * @param {(chart: LineChart) => void} [options.onChange] called after every load and toggle
   * @param {number} [options.height]
   * @param {string} [options.name] the name of downloads
   * @param {() => string} [options.csvURL] the chart's data as CSV, at full resolution
   * @param {boolean} [options.legend] draw plotly's legend (the compare page has its own)
   * @param {boolean} [options.stepsOnly] always by step, whatever the page's x axis (group means align runs on steps)
   */
  constructor(container, { load, onChange = () => {}, height = 270, name = "chart", csvURL = null, legend = true, stepsOnly = false }) {
    this.stepsOnly = stepsOnly;
    this.container = container;
    this.load = load;
    this.onChange = onChange;
    this.height = height;
    this.config = chartConfig({ name, csvURL });
    this.legend = legend;
    this.xRange = null; // [min, max] when zoomed in
    this.yRange = null; // [min, max] in data units (never log exponents), when the user zoomed y
    this.logY = false;
    this.hidden = new Set(); // labels of the traces hidden from the legend, kept across redraws
    this.traces = [];
    this.meta = null;
    this.sequence = 0; // answers to older requests are dropped
    this.bound = false;
    smoothing.charts.add(this);
    xAxis.charts.add(this);
  }

  get zoomed() { return this.xRange !== null; }

  /** What the x axis shows: the page's choice (charts/xaxis.js), or steps for a chart drawn only by step. */
  get xMode() { return this.stepsOnly ? "step" : xAxis.mode; }

  /** Whether every step drawn is a whole number (ticks and labels then are too). */
  get wholeSteps() { return this.traces.every((t) => isWhole(t.steps)); }

  /** Load the current range (everything, or the zoomed one) and draw. */
  async refresh() {
    const sequence = ++this.sequence;
    const range = { smoothing: smoothing.weight, x: this.xMode, ...(this.xRange ? { stepMin: this.xRange[0], stepMax: this.xRange[1] } : {}) };
    const result = await this.load(range);
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

  /** Show or hide a trace by label (as a click on its legend entry does). */
  setHidden(label, hidden) {
    if (hidden) this.hidden.add(label); else this.hidden.delete(label);
    this.draw();
  }

  plotTraces() {
    const out = [];
    const longest = Math.max(0, ...this.traces.map((t) => t.steps.length));
    const smoothed = this.traces.some((t) => t.smoothed);
    for (const trace of this.traces) {
      const markers = longest <= FEW_POINTS || trace.steps.length === 1;
      const line = { color: trace.color, width: 1.6, dash: trace.dash || "solid" };
      const common = {
        // Wall time comes in unix seconds; plotly's date axis counts milliseconds.
        type: "scatter", x: this.xMode === "time" ? trace.steps.map((t) => t * 1000) : trace.steps, y: trace.values, name: plotlyText(trace.label), connectgaps: false,
        legendgroup: trace.label, visible: this.hidden.has(trace.label) ? "legendonly" : true,
        meta: trace.label, // which trace a legend click hid, whatever plotly does to name
      };
      if (trace.band) {
        // A group's band (lib/grouping.js): its lower edge, then its upper edge filled down to it.
        const edge = { ...common, mode: "lines", line: { color: trace.color, width: 0 }, hoverinfo: "skip", showlegend: false };
        out.push({ ...edge, y: trace.band[0] });
        out.push({ ...edge, y: trace.band[1], fill: "tonexty", fillcolor: translucent(trace.color, 0.18) });
      }
      if (smoothed && trace.smoothed) {
        // The raw series faint underneath, the smoothed one on top; one legend entry for both.
        out.push({ ...common, mode: "lines", line: { ...line, width: 1 }, opacity: 0.25, hoverinfo: "skip", showlegend: false });
        out.push({ ...common, y: trace.smoothed, mode: markers ? "lines+markers" : "lines", marker: { size: 5 }, line, hovertemplate: "%{y:.5g}" });
      } else {
        out.push({ ...common, mode: markers ? "lines+markers" : "lines", marker: { size: 5 }, line, hovertemplate: "%{y:.5g}" });
      }
    }
    return out;
  }

  /** The y range to draw: the user's zoom, or a visible band around a constant series. */
  yAxisRange() {
    const toAxis = (r) => (this.logY ? (r[0] > 0 && r[1] > 0 ? [Math.log10(r[0]), Math.log10(r[1])] : null) : r);
    if (this.yRange) return toAxis(this.yRange);
    let low = Infinity;
    let high = -Infinity;
    for (const t of this.traces) {
      if (this.hidden.has(t.label)) continue;
      for (const v of t.values) if (v !== null) { if (v < low) low = v; if (v > high) high = v; }
    }
    if (low !== high || !Number.isFinite(low)) return null; // plotly's autorange fits it
    // A constant: plotly would draw -1..1 around it; centre a band of +-10% (or +-1 at 0) on it.
    const pad = low === 0 ? 1 : Math.abs(low) * 0.1;
    return toAxis([low - pad, low + pad]);
  }

  layout() {
    const base = baseLayout();
    const many = this.traces.length > 1 && this.legend;
    const whole = this.wholeSteps;
    const span = this.xRange ? this.xRange[1] - this.xRange[0]
      : Math.max(0, ...this.traces.map((t) => (t.steps.length ? t.steps[t.steps.length - 1] - t.steps[0] : 0)));
    const y = this.yAxisRange();
    const largest = Math.max(0, ...this.traces.map((t) => Math.abs(t.steps[t.steps.length - 1] || 0)));
    return {
      ...base,
      height: this.height,
      hovermode: "x unified",
      showlegend: many,
      // Beside the plot, scrolling when long: the plot keeps its height whatever the number of traces.
      legend: { orientation: "v", x: 1.01, xanchor: "left", y: 1, yanchor: "top", font: { size: 11 }, groupclick: "togglegroup" },
      margin: { ...base.margin, b: 34 },
      xaxis: this.xMode === "time" ? { ...base.xaxis, type: "date", autorange: true } : {
        ...base.xaxis,
        ...(this.xMode === "relative" ? { ticksuffix: " s" } : {}),
        // Whole steps: integer ticks ("0, 1, 2", never "500m"), and a step of 1 when few are in view.
        hoverformat: whole ? ",d" : ",.6~g",
        tickformat: whole ? (largest >= 1e6 ? "~s" : ",d") : "~g",
        ...(whole && span <= 8 ? { dtick: 1, tick0: 0 } : {}),
        ...(this.xRange ? { range: this.xRange.slice(), autorange: false } : { autorange: true }),
      },
      yaxis: {
        ...base.yaxis, type: this.logY ? "log" : "linear", exponentformat: "e",
        ...(y ? { range: y, autorange: false } : { autorange: true }),
      },
    };
  }

  /**
   * Draw with plotly, or, until plotly.js is loaded, as a sketch (charts/sketch.js) that plotly
   * replaces once it is ready: the first screen's curves do not wait for plotly's compilation.
   */
  async draw() {
    if (!this.themeBound) {
      // Redrawn in the new theme's colours, the sketch before plotly too.
      this.themeBound = true;
      document.addEventListener("trackboard:theme", () => { if (this.container.isConnected) this.draw(); });
    }
    const Plotly = window.Plotly;
    if (!Plotly) {
      sketchPlotly(this.container, this.plotTraces(), this.layout());
      if (!this.awaitingPlotly) {
        this.awaitingPlotly = true;
        plotlyAfterFirstScreen().then(() => { if (this.container.isConnected) this.draw(); }).catch((e) => console.error(e));
      }
      return;
    }
    removeSketch(this.container);
    await Plotly.react(this.container, this.plotTraces(), this.layout(), this.config);
    if (!this.bound) {
      this.bound = true;
      this.container.on("plotly_relayout", (event) => this.onRelayout(event));
      // A legend click hides a trace in plotly's copy only: remember it, or the next draw shows it again.
      this.container.on("plotly_restyle", () => this.rememberHidden());
    }
  }

  rememberHidden() {
    const hidden = new Set();
    for (const trace of this.container.data || []) if (trace.visible === "legendonly" && trace.meta !== undefined) hidden.add(trace.meta);
    this.hidden = hidden;
    this.container.dataset.hidden = [...hidden].join("\n");
  }

  onRelayout(event) {
    const pair = (axis) => {
      const a = event[`${axis}.range[0]`] ?? (event[`${axis}.range`] || [])[0];
      const b = event[`${axis}.range[1]`] ?? (event[`${axis}.range`] || [])[1];
      return a === undefined || b === undefined ? null : [Math.min(a, b), Math.max(a, b)];
    };
    const x = pair("xaxis");
    let y = pair("yaxis");
    // A log axis reports its range as exponents: keep the zoom in data units.
    if (y && this.logY) y = [10 ** y[0], 10 ** y[1]];
    if (x && this.xMode !== "step") {
      // Zoomed on epochs or times: plotly's own zoom of what is drawn (the server cuts by step).
    } else if (x) {
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
    xAxis.charts.delete(this);
    removeSketch(this.container);
    if (window.Plotly) window.Plotly.purge(this.container);
  }
}

/** A step for text: whole steps without decimals, others with up to six digits. */
export function formatStep(step, whole) {
  const bounded = Math.max(-1e15, Math.min(1e15, step));
  return whole ? Math.round(bounded).toLocaleString("en-US") : Number(bounded.toPrecision(7)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

/** The text under a chart: how many points exist and how many are drawn. */
export function describePoints(seriesList, range, whole = true) {
  const inRange = seriesList.reduce((n, s) => n + s.in_range, 0);
  const shown = seriesList.reduce((n, s) => n + s.steps.length, 0);
  const nan = seriesList.reduce((n, s) => n + s.nan, 0);
  const inf = seriesList.reduce((n, s) => n + s.inf, 0);
  const parts = [];
  const fmt = (n) => n.toLocaleString("en-US");
  // Whole steps: the first and last whole steps inside the zoomed range.
  if (range) parts.push(`steps ${formatStep(whole ? Math.ceil(range[0]) : range[0], whole)}–${formatStep(whole ? Math.floor(range[1]) : range[1], whole)}`);
  parts.push(`${fmt(inRange)} point${inRange === 1 ? "" : "s"}`);
  parts.push(shown < inRange ? `${fmt(shown)} drawn (min/max per bucket)` : "full resolution");
  if (nan) parts.push(`${fmt(nan)} NaN`);
  if (inf) parts.push(`${fmt(inf)} ±inf`);
  return { text: parts.join(" · "), inRange, shown };
}
