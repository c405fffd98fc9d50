// BAR panel: labelled numbers.

import { getJSON, urls } from "../lib/api.js";
import { el, plotlyText } from "../lib/dom.js";
import { baseLayout, chartConfig, colorAt, loadPlotly } from "../lib/plotly.js";
import { asNumber } from "../lib/format.js";

export async function render(ctx) {
  const host = el("div", { className: "chart" });
  ctx.body.replaceChildren(host);
  const draw = async () => {
    const [{ data }, Plotly] = await Promise.all([getJSON(urls.log(ctx.experimentId, ctx.log.name)), loadPlotly()]);
    const labels = data.x.map((label) => plotlyText(label));
    const values = data.y.map((v) => { const n = asNumber(v); return Number.isFinite(n) ? n : null; });
    const base = baseLayout();
    // Positions, not labels, on the axis: equal or numeric labels stay separate bars.
    const positions = labels.map((_, i) => i);
    await Plotly.react(host, [{
      type: "bar", x: positions, y: values, customdata: labels, marker: { color: colorAt(0) },
      hovertemplate: "%{customdata}: %{y:.5g}<extra></extra>",
    }], {
      ...base, height: 270, bargap: 0.25,
      xaxis: { ...base.xaxis, tickmode: "array", tickvals: positions, ticktext: labels, automargin: true },
    }, chartConfig({ name: ctx.log.name }));
    ctx.foot.textContent = `${data.x.length} bar${data.x.length === 1 ? "" : "s"}`;
    ctx.panel.dataset.bars = String(data.x.length);
  };
  await draw();
  return { update: draw };
}
