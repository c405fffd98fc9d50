// plotly.js is loaded on demand (it is large): pages draw everything else first. Line charts are
// sketched until it is loaded (charts/sketch.js), which starts once the first screen is drawn:
// compiling it (a second or more on a cold load, on a small machine) then delays nothing the
// first screen shows. Pages that need it at once (the sweep page) preload it from <head>.
//
// Charts take their colours from the page's CSS variables, so they follow the light or dark theme.

let loading = null;

/** The Plotly global, loading plotly.js (served from the plotly Python package) once. */
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = document.body.dataset.plotly;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { loading = null; reject(new Error("Could not load plotly.js")); };
      document.head.append(script);
    });
  }
  return loading;
}

let afterFirstScreen = null;

/**
 * The Plotly global, loaded once the page marks its first screen drawn (``body[data-ready]``), or
 * at once where something else loaded it already. Line charts sketch themselves meanwhile
 * (charts/sketch.js): compiling plotly.js then never delays the first screen's data answers.
 */
export function plotlyAfterFirstScreen() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!afterFirstScreen) {
    afterFirstScreen = new Promise((resolve) => {
      const observer = new MutationObserver(() => check());
      const check = () => {
        if (!document.body.dataset.ready && !loading) return;
        observer.disconnect();
        resolve();
      };
      observer.observe(document.body, { attributes: true, attributeFilter: ["data-ready"] });
      check();
    }).then(loadPlotly);
  }
  return afterFirstScreen;
}

/** Ten well-separated colours first (readable on white and on the dark theme)... */
export const PALETTE = [
  "#4f46e5", "#e11d48", "#059669", "#d97706", "#0891b2", "#7c3aed", "#db2777", "#65a30d", "#2563eb", "#ea580c",
];

/**
 * ...then hues spread by the golden angle with alternating lightness, so the colour of run 15 is
 * not the colour of run 1 (a fixed list repeats; 50 runs get 50 distinct colours).
 */
export function colorAt(i) {
  if (i < PALETTE.length) return PALETTE[i];
  const k = i - PALETTE.length;
  const hue = Math.round((k * 137.508 + 20) % 360);
  const lightness = [46, 36, 56][k % 3];
  return `hsl(${hue}, 70%, ${lightness}%)`;
}

/** The current theme's colours, read from the CSS variables of dashboard.css. */
export function themeColors() {
  const style = getComputedStyle(document.documentElement);
  const v = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return {
    text: v("--chart-text", "#374151"), grid: v("--chart-grid", "#eef0f3"), line: v("--chart-line", "#d1d5db"),
    surface: v("--surface", "#ffffff"), hoverText: v("--text", "#111827"), border: v("--border-strong", "#d1d5db"),
    icon: v("--chart-icon", "#475467"), accent: v("--accent", "#4f46e5"),
    dark: window.matchMedia("(prefers-color-scheme: dark)").matches,
  };
}

// Charts redraw with the new colours when the system switches between light and dark.
window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => document.dispatchEvent(new Event("trackboard:theme")));

const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/** The layout every chart starts from. */
export function baseLayout(extra = {}) {
  const c = themeColors();
  const font = { family: FONT_FAMILY, size: 12, color: c.text };
  return {
    font,
    margin: { l: 52, r: 14, t: 30, b: 36 }, // t: room for the toolbar above the plot, never over it
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    hoverlabel: { font: { ...font, color: c.hoverText }, bgcolor: c.surface, bordercolor: c.border },
    modebar: { bgcolor: "rgba(0,0,0,0)", color: c.icon, activecolor: c.accent },
    xaxis: { gridcolor: c.grid, zerolinecolor: c.line, linecolor: c.line, automargin: true },
    yaxis: { gridcolor: c.grid, zerolinecolor: c.line, linecolor: c.line, automargin: true },
    ...extra,
  };
}

/** A file download of text made in the page (CSV of a table). */
export function downloadText(text, filename, type = "text/csv;charset=utf-8") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A download of a URL the server answers (a chart's full-resolution CSV). */
export function downloadURL(url, filename) {
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
}

// Simple filled glyphs on a 1000x1000 grid: a page with a cut corner (SVG) and a 2x3 grid (CSV).
const SVG_ICON = "M200 50h420l180 180v720H200z";
const CSV_ICON = "M100 150h360v180H100z M540 150h360v180H540z M100 410h360v180H100z M540 410h360v180H540z M100 670h360v180H100z M540 670h360v180H540z";

const fileName = (name) => String(name || "chart").replace(/[^\w.-]+/g, "_").replace(/^_+|_+$/g, "") || "chart";

/**
 * Plotly options: responsive, nothing that talks to Plotly's cloud (no "Edit in Chart Studio", no
 * links), and the downloads a user expects: PNG, SVG and, with ``csvURL``, the chart's data as CSV.
 * @param {object} [options]
 * @param {string} [options.name] file name of the downloads
 * @param {() => string} [options.csvURL] the URL of the chart's data at full resolution
 */
export function chartConfig({ name = "chart", csvURL = null } = {}) {
  const base = fileName(name);
  const svg = {
    name: "downloadSVG", title: "Download plot as SVG", icon: { width: 1000, height: 1000, path: SVG_ICON },
    click: (gd) => window.Plotly.downloadImage(gd, { format: "svg", filename: base }),
  };
  const csv = csvURL && {
    name: "downloadCSV", title: "Download data as CSV (full resolution)", icon: { width: 1000, height: 1000, path: CSV_ICON },
    click: () => downloadURL(csvURL(), `${base}.csv`),
  };
  return {
    responsive: true,
    displaylogo: false,
    showLink: false,
    showSendToCloud: false,
    showEditInChartStudio: false,
    plotlyServerURL: "",
    toImageButtonOptions: { format: "png", filename: base, scale: 2 },
    modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d", "sendDataToCloud", "editInChartStudio"],
    modeBarButtonsToAdd: [svg, csv].filter(Boolean),
  };
}

/** The options of charts that need no download of their data. */
export const CONFIG = chartConfig();
