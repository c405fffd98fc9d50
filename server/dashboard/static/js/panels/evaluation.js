// EVALUATION panel: metric cards, a per-class table and a sample browser that can show only the
// misclassified samples.

import { getJSON, urls } from "../lib/api.js";
import { el } from "../lib/dom.js";
import { DataTable } from "../lib/table.js";
import { formatValue, fullValue } from "../lib/format.js";
import { searchBox } from "./table.js";

const SAMPLE_PAGE = 15;

/** A sample is misclassified when its prediction differs from its ground truth. */
export const misclassified = (sample) => String(sample.ground_truth) !== String(sample.prediction);

function metricCards(metrics) {
  return el("div", { className: "metric-cards" }, Object.entries(metrics).map(([name, value]) =>
    el("div", { className: "metric-card", title: `${name} = ${fullValue(value)}` },
      el("div", { className: "metric-name", text: name }),
      el("div", { className: "metric-value", text: formatValue(value) }))));
}

function perClassTable(perClass) {
  const names = [...new Set(Object.values(perClass).flatMap((m) => Object.keys(m)))];
  const table = new DataTable({
    columns: [
      { key: "class", label: "Class", format: String },
      ...names.map((name) => ({ key: name, label: name, numeric: true, value: (row) => row.metrics[name] })),
    ],
    rows: Object.entries(perClass).map(([cls, metrics]) => ({ class: cls, metrics })),
  });
  return table;
}

function sampleBrowser(samples) {
  const preferred = ["id", "ground_truth", "prediction", "score"];
  const keys = [...new Set(samples.flatMap((s) => Object.keys(s)))];
  const ordered = [...preferred.filter((k) => keys.includes(k)), ...keys.filter((k) => !preferred.includes(k))];
  const table = new DataTable({
    columns: ordered.map((key) => ({ key, label: key.replace(/_/g, " "), numeric: key === "score" })),
    rows: samples,
    pageSize: SAMPLE_PAGE,
    rowClass: (s) => (misclassified(s) ? "wrong" : "right"),
  });
  const state = { wrongOnly: false, cls: "", needle: "" };
  const apply = () => table.setFilter((s) => (!state.wrongOnly || misclassified(s))
    && (!state.cls || String(s.ground_truth) === state.cls)
    && (!state.needle || ordered.some((k) => String(s[k] ?? "").toLowerCase().includes(state.needle))));
  const classes = [...new Set(samples.map((s) => String(s.ground_truth)))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const wrongCount = samples.filter(misclassified).length;
  const controls = el("div", { className: "panel-tools" },
    el("label", { className: "check" },
      el("input", { type: "checkbox", className: "misclassified-only", on: { change: (e) => { state.wrongOnly = e.target.checked; apply(); } } }),
      `Misclassified only (${wrongCount})`),
    el("select", { className: "select small", attrs: { "aria-label": "Ground truth class" }, on: { change: (e) => { state.cls = e.target.value; apply(); } } },
      el("option", { value: "", text: "All classes" }), classes.map((c) => el("option", { value: c, text: c }))),
    el("input", { className: "search small", type: "search", placeholder: "Search samples…", attrs: { "aria-label": "Search samples" },
      on: { input: (e) => { state.needle = e.target.value.trim().toLowerCase(); apply(); } } }));
  return el("div", { className: "samples" }, controls, table.element);
}

export async function render(ctx) {
  ctx.panel.classList.add("wide");
  const load = async () => {
    const { data } = await getJSON(urls.log(ctx.experimentId, ctx.log.name));
    const parts = [];
    if (data.split) parts.push(el("p", { className: "muted split" }, "Split: ", el("strong", { text: data.split })));
    parts.push(metricCards(data.metrics));
    if (data.per_class && Object.keys(data.per_class).length) {
      const table = perClassTable(data.per_class);
      parts.push(el("h4", { text: "Per class" }),
        el("div", { className: "panel-tools" }, searchBox(table, (row) => row.class, "Search classes…")), table.element);
    }
    if (data.samples && data.samples.length) parts.push(el("h4", { text: `Samples (${data.samples.length})` }), sampleBrowser(data.samples));
    ctx.body.replaceChildren(...parts);
  };
  await load();
  return { update: load };
}
