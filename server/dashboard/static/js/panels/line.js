// LINE panel: one chart per log, a trace per series.

import { getJSON, urls } from "../lib/api.js";
import { el } from "../lib/dom.js";
import { colorAt } from "../lib/plotly.js";
import { LineChart, describePoints } from "../charts/line.js";

/** A toggle button for a panel's header; onToggle(pressed) runs on click. */
export function toggle(label, title, onToggle) {
  const button = el("button", {
    className: "toggle", type: "button", text: label, title, attrs: { "aria-pressed": "false" },
    on: { click: () => {
      const pressed = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", String(pressed));
      onToggle(pressed);
    } },
  });
  return button;
}

/**
 * Wire a LineChart into a panel: Log / Reset buttons, the footer, and data attributes (points,
 * shown, range, loads) that say what is drawn. Smoothing is the page's one control, not a button here.
 * @param {object} [options] passed to LineChart (name, csvURL, legend)
 */
export function chartPanel(ctx, load, options = {}) {
  const host = el("div", { className: "chart" });
  ctx.body.replaceChildren(host);
  const reset = el("button", {
    className: "toggle reset", type: "button", text: "Reset zoom", title: "Show the whole series (or double-click the chart)",
    hidden: true, on: { click: () => chart.zoomTo(null) },
  });
  const chart = new LineChart(host, {
    ...options,
    load,
    onChange: (c) => {
      const info = describePoints(c.meta.series, c.xRange, c.wholeSteps);
      ctx.foot.textContent = info.text;
      ctx.panel.dataset.points = String(info.inRange);
      ctx.panel.dataset.shown = String(info.shown);
      ctx.panel.dataset.range = c.xRange ? c.xRange.join(",") : "";
      ctx.panel.dataset.loads = String(Number(ctx.panel.dataset.loads || 0) + 1);
      reset.hidden = !c.zoomed;
    },
  });
  ctx.actions.append(
    reset,
    toggle("Log", "Logarithmic y axis", (on) => chart.setLogScale(on)),
  );
  return chart;
}

export async function render(ctx) {
  const chart = chartPanel(ctx, async (range) => {
    const data = await getJSON(urls.series(ctx.experimentId, ctx.log.name, range));
    const named = data.series.length > 1 || (data.series[0] && data.series[0].name);
    const traces = data.series.map((s, i) => ({
      label: named ? s.name : ctx.log.name, steps: s.steps, values: s.values, smoothed: s.smoothed, color: colorAt(i),
    }));
    return { traces, meta: { series: data.series } };
  }, { name: ctx.log.name, csvURL: () => urls.seriesCSV(ctx.experimentId, ctx.log.name) });
  await chart.refresh();
  return { update: () => chart.refresh(), chart };
}
