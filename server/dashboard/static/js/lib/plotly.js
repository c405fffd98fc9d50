// plotly.js is loaded on demand (it is large): pages draw everything else first. Chart pages
// preload it from <head>, so only its compilation waits; running it earlier, in parallel with the
// page's own work, measured slower on a small machine (both compete for the same cores).

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

/** One colour per series or experiment, readable on white. */
export const PALETTE = [
  "#4f46e5", "#e11d48", "#059669", "#d97706", "#0891b2", "#7c3aed", "#db2777", "#65a30d",
  "#2563eb", "#ea580c", "#0d9488", "#9333ea", "#ca8a04", "#475569",
];

export const colorAt = (i) => PALETTE[i % PALETTE.length];

const FONT = { family: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif', size: 12, color: "#374151" };

/** The layout every chart starts from. */
export function baseLayout(extra = {}) {
  return {
    font: FONT,
    margin: { l: 52, r: 14, t: 8, b: 36 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    hoverlabel: { font: { ...FONT, color: "#111827" }, bgcolor: "#ffffff", bordercolor: "#d1d5db" },
    modebar: { bgcolor: "rgba(255,255,255,0.9)", color: "#98a2b3", activecolor: "#4f46e5" },
    xaxis: { gridcolor: "#eef0f3", zerolinecolor: "#d1d5db", linecolor: "#d1d5db", automargin: true },
    yaxis: { gridcolor: "#eef0f3", zerolinecolor: "#d1d5db", linecolor: "#d1d5db", automargin: true },
    ...extra,
  };
}

/** Plotly options: responsive, no logo, only the tools that make sense here. */
export const CONFIG = {
  responsive: true,
  displaylogo: false,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d", "toImage"],
};
