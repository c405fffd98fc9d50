// HEATMAP panel: a confusion matrix annotated with counts, category names on both axes, the
// extra row and column of the N+1 form labelled FP and FN, and a row-normalised view.

import { getJSON, urls } from "../lib/api.js";
import { el, plotlyText } from "../lib/dom.js";
import { baseLayout, chartConfig, loadPlotly, themeColors } from "../lib/plotly.js";
import { asNumber, formatNumber } from "../lib/format.js";
import { toggle } from "./line.js";

/** Row and column labels: with N+1 rows the last row is FP and the last column FN. */
export function axisLabels(categories, size) {
  const extra = size === categories.length + 1;
  return {
    rows: extra ? [...categories, "FP"] : categories.slice(),
    columns: extra ? [...categories, "FN"] : categories.slice(),
  };
}

/** Each row divided by its sum (rows of zeros stay zeros). */
export function normaliseRows(matrix) {
  return matrix.map((row) => {
    const sum = row.reduce((s, v) => s + (Number.isFinite(v) ? v : 0), 0);
    return row.map((v) => (sum && Number.isFinite(v) ? v / sum : 0));
  });
}

export async function render(ctx) {
  const host = el("div", { className: "chart" });
  ctx.body.replaceChildren(host);
  let data = null;
  let normalised = false;

  const draw = async () => {
    const Plotly = await loadPlotly();
    const counts = data.values.map((row) => row.map((v) => { const n = asNumber(v); return Number.isFinite(n) ? n : null; }));
    const { rows, columns } = axisLabels(data.categories, counts.length);
    const z = normalised ? normaliseRows(counts) : counts;
    const text = z.map((row) => row.map((v) => (v === null ? "" : normalised ? `${(v * 100).toFixed(v > 0 && v < 0.01 ? 1 : 0)}%` : formatNumber(v))));
    const hover = counts.map((row, r) => row.map((v, c) => [plotlyText(rows[r]), plotlyText(columns[c]), formatNumber(v), text[r][c]]));
    const index = (n) => Array.from({ length: n }, (_, i) => i);
    const base = baseLayout();
    const n = counts.length;
    const size = Math.min(640, Math.max(260, 90 + 34 * n));
    await Plotly.react(host, [{
      type: "heatmap", z, x: index(n), y: index(n), text, customdata: hover,
      texttemplate: n <= 30 ? "%{text}" : "", textfont: { size: n > 15 ? 9 : 12 },
      colorscale: themeColors().dark ? [[0, "#1d2140"], [0.5, "#4f56c9"], [1, "#c7cbff"]] : [[0, "#f5f7ff"], [0.5, "#818cf8"], [1, "#312e81"]],
      showscale: false, xgap: 1, ygap: 1,
      hovertemplate: "actual %{customdata[0]}<br>predicted %{customdata[1]}<br>count %{customdata[2]}"
        + (normalised ? " (%{customdata[3]} of the row)" : "") + "<extra></extra>",
    }], {
      // The top margin holds the toolbar, so it never covers the top-right cells.
      ...base, height: size, margin: { l: 70, r: 14, t: 32, b: 60 },
      xaxis: { ...base.xaxis, title: { text: "Predicted" }, tickmode: "array", tickvals: index(n), ticktext: columns.map(plotlyText), tickangle: n > 6 ? -40 : 0, showgrid: false, zeroline: false },
      yaxis: { ...base.yaxis, title: { text: "Actual" }, tickmode: "array", tickvals: index(n), ticktext: rows.map(plotlyText), autorange: "reversed", showgrid: false, zeroline: false },
    }, chartConfig({ name: ctx.log.name }));
    ctx.foot.textContent = `${data.categories.length} categories${n > data.categories.length ? " · last row FP, last column FN" : ""}${normalised ? " · rows normalised to 100%" : ""}`;
  };

  const load = async () => {
    data = (await getJSON(urls.log(ctx.experimentId, ctx.log.name))).data;
    ctx.panel.classList.toggle("wide", data.categories.length > 12); // big matrices get the full row
    await draw();
  };
  ctx.actions.append(toggle("Normalise", "Show each row as percentages of its total", (on) => { normalised = on; draw(); }));
  await load();
  return { update: load };
}
