// Sweep views over a project's queried runs: parallel coordinates (parameters -> a chosen metric),
// a metric-vs-parameter scatter, and parameter importance (a random forest's importance and the
// correlation, computed by the server with scikit-learn, as W&B does). Query, view, metric and
// parameter live in the URL, so the project page links straight to each view.

import { getJSON, urls } from "../lib/api.js";
import { el, errorBox, setCrumbs } from "../lib/dom.js";
import { asNumber, formatNumber, formatValue } from "../lib/format.js";
import { baseLayout, chartConfig, loadPlotly } from "../lib/plotly.js";
import { QueryBox, queryField } from "../lib/query_box.js";
import { field } from "../lib/urlstate.js";

const VIEWS = [
  { value: "parallel", label: "Parallel coordinates" },
  { value: "scatter", label: "Scatter" },
  { value: "importance", label: "Parameter importance" },
];
const projectId = document.body.dataset.id;
const app = document.getElementById("app");
const url = {
  view: field("view", { initial: "parallel", parse: (text) => (VIEWS.some((v) => v.value === text) ? text : undefined) }),
  metric: field("metric", { initial: "" }),
  param: field("param", { initial: "" }),
  logX: field("logx", { initial: false, parse: (text) => text === "1", format: (on) => (on ? "1" : "") }),
};
const state = { experiments: [], metrics: [], params: [] };
let view = null;

const numeric = (values) => values.every((v) => v === undefined || v === null || asNumber(v) !== null);

/** The metrics a sweep can be read by: VALUE logs and the last value of LINE series, where numeric. */
function metricsOf(experiments) {
  const out = new Map();
  for (const e of experiments) {
    for (const name of Object.keys(e.values)) out.set(`v:${name}`, { key: `v:${name}`, label: name, value: (r) => asNumber(r.values[name]) });
    for (const name of Object.keys(e.lines)) out.set(`l:${name}`, { key: `l:${name}`, label: `${name} (last)`, value: (r) => (r.lines[name] ? asNumber(r.lines[name][1]) : null) });
  }
  return [...out.values()].filter((m) => experiments.some((e) => m.value(e) !== null));
}

function metricValue(e) {
  const metric = state.metrics.find((m) => m.key === url.metric.get());
  const v = metric ? metric.value(e) : null;
  return v !== null && Number.isFinite(v) ? v : null;
}

function shownRuns() {
  return state.experiments.filter((e) => view.query.matching === null || view.query.matching.has(e.id));
}

async function draw() {
  const runs = shownRuns().filter((e) => metricValue(e) !== null);
  const metric = state.metrics.find((m) => m.key === url.metric.get());
  view.tabs.forEach((tab) => tab.setAttribute("aria-pressed", String(tab.dataset.view === url.view.get())));
  view.paramLabel.hidden = view.logX.hidden = url.view.get() !== "scatter";
  view.logX.setAttribute("aria-pressed", String(url.logX.get()));
  view.count.textContent = `${runs.length} run${runs.length === 1 ? "" : "s"} with ${metric ? metric.label : "the metric"}`;
  view.body.dataset.view = url.view.get();
  view.body.dataset.runs = String(runs.length);
  delete view.body.dataset.rendered;
  if (!metric) { view.body.replaceChildren(el("p", { className: "empty", text: "These runs log no numeric metric." })); return; }
  if (!runs.length) { view.body.replaceChildren(el("p", { className: "empty", text: "No queried run has a number for this metric." })); return; }
  try {
    if (url.view.get() === "importance") await drawImportance(metric);
    else await (url.view.get() === "parallel" ? drawParallel(runs, metric) : drawScatter(runs, metric));
    view.body.dataset.rendered = "1";
  } catch (error) {
    view.body.replaceChildren(errorBox(error));
    view.body.dataset.rendered = "error";
  }
}

function dimension(label, values) {
  if (numeric(values)) return { label, values: values.map((v) => (v === undefined || v === null ? null : asNumber(v))) };
  // Text parameters: one tick per category, in first-seen order.
  const categories = [...new Set(values.map((v) => formatValue(v)))];
  return { label, values: values.map((v) => categories.indexOf(formatValue(v))), tickvals: categories.map((_, i) => i), ticktext: categories };
}

async function drawParallel(runs, metric) {
  const Plotly = await loadPlotly();
  const params = state.params.filter((p) => new Set(runs.map((e) => JSON.stringify(e.params[p] ?? null))).size > 1);
  const y = runs.map(metricValue);
  const trace = {
    type: "parcoords",
    line: { color: y, colorscale: "Viridis", showscale: true, colorbar: { title: { text: metric.label } } },
    dimensions: [...params.map((p) => dimension(p, runs.map((e) => e.params[p]))), { label: metric.label, values: y }],
  };
  const host = el("div", { className: "chart sweep-chart" });
  view.body.replaceChildren(host, params.length ? "" : el("p", { className: "muted", text: "No parameter varies between these runs." }));
  await Plotly.react(host, [trace], { ...baseLayout(), height: 460, margin: { l: 70, r: 70, t: 50, b: 30 } }, chartConfig({ name: "parallel-coordinates" }));
}

async function drawScatter(runs, metric) {
  const Plotly = await loadPlotly();
  const param = state.params.includes(url.param.get()) ? url.param.get() : state.params[0];
  if (!param) { view.body.replaceChildren(el("p", { className: "empty", text: "These runs log no parameters." })); return; }
  const xs = runs.map((e) => e.params[param] ?? null);
  const trace = {
    type: "scatter", mode: "markers", x: xs.map((v) => (numeric(xs) ? asNumber(v) : formatValue(v))), y: runs.map(metricValue),
    text: runs.map((e) => e.name), customdata: runs.map((e) => e.id),
    marker: { size: 9, color: runs.map(metricValue), colorscale: "Viridis", line: { width: 0.5, color: "#fff" } },
    hovertemplate: `%{text}<br>${param} = %{x}<br>${metric.label} = %{y:.5g}<extra></extra>`,
  };
  const host = el("div", { className: "chart sweep-chart" });
  view.body.replaceChildren(host, el("p", { className: "muted", text: "Click a point to open its run." }));
  const base = baseLayout();
  await Plotly.react(host, [trace], { ...base, height: 440, hovermode: "closest",
    xaxis: { ...base.xaxis, title: { text: param }, type: !numeric(xs) ? "category" : url.logX.get() ? "log" : "linear" },
    yaxis: { ...base.yaxis, title: { text: metric.label } } }, chartConfig({ name: "scatter" }));
  host.on("plotly_click", (event) => { const point = event.points[0]; if (point) window.location.assign(urls.experimentPage(point.customdata)); });
}

async function drawImportance(metric) {
  view.body.replaceChildren(el("p", { className: "loading", text: "Fitting a random forest on the server…" }));
  const answer = await getJSON(`/api/trackboard/projects/${encodeURIComponent(projectId)}/importance`, {
    method: "POST", body: { filter: view.query.text || null, metric: queryField(metric.key) } });
  const top = Math.max(1e-12, ...answer.parameters.map((p) => p.importance));
  const rows = answer.parameters.map((p) => el("tr", { dataset: { param: p.name } },
    el("th", { text: p.name.replace(/^params\./, ""), title: p.name }),
    el("td", {}, el("div", { className: "importance-cell" },
      el("span", { className: "importance-bar", attrs: { style: `width:${(80 * p.importance / top).toFixed(1)}%` } }),
      el("span", { className: "num importance-value", text: formatNumber(p.importance) }))),
    el("td", { className: `num correlation ${p.correlation === null ? "" : p.correlation >= 0 ? "positive" : "negative"}`,
      text: p.correlation === null ? "—" : formatNumber(p.correlation), title: p.correlation === null ? "Text parameter: no correlation" : "Pearson correlation" })));
  view.body.replaceChildren(
    el("p", { className: "muted", text: `${answer.runs} runs; importance from a random forest predicting ${metric.label} from the parameters (scikit-learn), with the correlation of each numeric parameter.` }),
    answer.parameters.length
      ? el("table", { className: "data importance-table" }, el("thead", {}, el("tr", {}, el("th", { text: "Parameter" }), el("th", { text: "Importance" }), el("th", { className: "num", text: "Correlation" }))), el("tbody", {}, rows))
      : el("p", { className: "empty", text: "No parameter varies between these runs." }));
}

function skeleton(project) {
  document.title = `Sweep · ${project.name} · trackboard`;
  setCrumbs([{ text: "Projects", href: "/ui/" }, { text: project.name, href: urls.projectPage(project.id) }, { text: "Sweep" }]);
  const query = new QueryBox(projectId, () => draw());
  const tabs = VIEWS.map((v) => el("button", { className: "toggle sweep-tab", type: "button", text: v.label, dataset: { view: v.value },
    on: { click: () => { url.view.set(v.value); draw(); } } }));
  const metric = el("select", { className: "select sweep-metric", attrs: { "aria-label": "Metric" },
    on: { change: (e) => { url.metric.set(e.target.value); draw(); } } },
  state.metrics.map((m) => el("option", { value: m.key, text: m.label, selected: m.key === url.metric.get() })));
  const param = el("select", { className: "select sweep-param", attrs: { "aria-label": "Parameter on the x axis" },
    on: { change: (e) => { url.param.set(e.target.value); draw(); } } },
  state.params.map((p) => el("option", { value: p, text: p, selected: p === url.param.get() })));
  const paramLabel = el("label", { className: "inline" }, "Parameter ", param);
  const count = el("span", { className: "muted" });
  // Learning rates and the like span decades: a log x axis spreads them out.
  const logX = el("button", { className: "toggle sweep-logx", type: "button", text: "Log x", title: "Logarithmic x axis",
    on: { click: () => { url.logX.set(!url.logX.get()); draw(); } } });
  const body = el("section", { className: "card sweep-body" });
  app.replaceChildren(
    el("div", { className: "page-head" }, el("div", { className: "page-title" }, el("h1", { text: `Sweep of ${project.name}` }))),
    el("div", { className: "toolbar" }, query.element),
    el("div", { className: "toolbar" }, ...tabs, el("label", { className: "inline" }, "Metric ", metric), paramLabel, logX, el("span", { className: "spacer" }), count),
    body);
  view = { query, tabs, body, count, paramLabel, logX };
}

async function main() {
  try {
    const data = await getJSON(urls.project(projectId));
    state.experiments = data.experiments;
    state.metrics = metricsOf(data.experiments);
    state.params = [...new Set(data.experiments.flatMap((e) => Object.keys(e.params)))];
    if (!state.metrics.some((m) => m.key === url.metric.get()) && state.metrics.length) {
      const pick = state.metrics.find((m) => /acc|f1|auc|score|loss/i.test(m.label)) || state.metrics[0];
      url.metric.set(pick.key);
    }
    skeleton(data.project);
    await view.query.refresh();
    await draw();
    document.body.dataset.ready = "1";
  } catch (error) {
    app.replaceChildren(errorBox(error));
    document.body.dataset.ready = "error";
  }
}

main();
