// The compare view: the chosen experiments' LINE logs overlaid (a colour per experiment), their
// VALUE logs side by side, and their parameters with the rows that differ highlighted.

import { getJSON, urls } from "../lib/api.js";
import { el, errorBox, setCrumbs, statusPill } from "../lib/dom.js";
import { asNumber, experimentDuration, formatDuration, formatValue, fullValue, lowerIsBetter } from "../lib/format.js";
import { Lazy } from "../lib/lazy.js";
import { Groups, panelFrame } from "../lib/panel.js";
import { colorAt } from "../lib/plotly.js";
import { chartPanel } from "../panels/line.js";
import { environmentCompare } from "../sections/environment.js";
import { smoothingControl } from "../charts/controls.js";
import { xAxisControl } from "../charts/xaxis.js";
import { bandControl, groupByControl, groupLegend, groupRuns, groupTraces, grouping } from "../lib/grouping.js";

const DASHES = ["solid", "dash", "dot", "dashdot", "longdash"];
const app = document.getElementById("app");
const ids = (document.body.dataset.id || "").split(",").map((s) => s.trim()).filter(Boolean);
const lazy = new Lazy();
const charts = new Set(); // the curve charts drawn, destroyed when grouping redraws them

const same = (values) => values.every((v) => JSON.stringify(v ?? null) === JSON.stringify(values[0] ?? null));

function legend(experiments) {
  return el("div", { className: "legend" }, experiments.map((e, i) =>
    el("a", { className: "legend-item", href: urls.experimentPage(e.id), dataset: { experiment: e.id } },
      el("span", { className: "swatch", attrs: { style: `background:${colorAt(i)}` } }),
      el("span", { className: "legend-name", text: e.name }),
      statusPill(e.status))));
}

function headCells(experiments) {
  return el("tr", {}, el("th", { text: "" }), experiments.map((e, i) =>
    el("th", { className: "num exp-head", title: e.name }, el("span", { className: "swatch", attrs: { style: `background:${colorAt(i)}` } }), e.name)));
}

/** VALUE logs side by side; the best of each numeric row is marked (direction guessed by name). */
function valuesTable(experiments, now) {
  const names = [...new Set(experiments.flatMap((e) => Object.keys(e.values)))];
  const rows = [
    el("tr", { className: "meta-row" }, el("th", { text: "Duration" }), experiments.map((e) => el("td", { className: "num", text: formatDuration(experimentDuration(e, now)) }))),
  ];
  for (const name of names) {
    const values = experiments.map((e) => e.values[name]);
    const numbers = values.map((v) => { const n = asNumber(v); return n !== null && Number.isFinite(n) ? n : null; });
    const finite = numbers.filter((n) => n !== null);
    // Marked only where the runs differ: a tie is not a winner.
    const best = finite.length > 1 && new Set(finite).size > 1 ? (lowerIsBetter(name) ? Math.min(...finite) : Math.max(...finite)) : null;
    rows.push(el("tr", { dataset: { value: name } }, el("th", { text: name, title: name }), values.map((v, i) =>
      el("td", { className: `num${best !== null && numbers[i] === best ? " best-cell" : ""}`, text: formatValue(v), title: fullValue(v) }))));
  }
  return el("div", { className: "table-scroll" }, el("table", { className: "data compare-table values-table" }, el("thead", {}, headCells(experiments)), el("tbody", {}, rows)));
}

/** Parameters side by side; rows whose values differ are highlighted (and can be shown alone). */
function parametersTable(experiments) {
  const names = [...new Set(experiments.flatMap((e) => Object.keys(e.params)))];
  if (!names.length) return { element: el("p", { className: "muted", text: "No parameters logged." }), differing: 0 };
  let differing = 0;
  const body = el("tbody", {}, names.map((name) => {
    const values = experiments.map((e) => e.params[name]);
    const differs = !same(values);
    if (differs) differing += 1;
    return el("tr", { className: differs ? "differs" : "", dataset: { param: name } }, el("th", { text: name, title: name }),
      values.map((v) => el("td", { className: "num", text: formatValue(v), title: fullValue(v) })));
  }));
  const table = el("table", { className: "data compare-table params-table" }, el("thead", {}, headCells(experiments)), body);
  const only = el("input", { type: "checkbox", className: "only-differences", on: { change: (e) => table.classList.toggle("only-differences", e.target.checked) } });
  return {
    element: el("div", {},
      el("div", { className: "panel-tools" }, el("label", { className: "check" }, only, `Only differences (${differing} of ${names.length})`)),
      el("div", { className: "table-scroll" }, table)),
    differing,
  };
}

function curvePanel(name, experiments) {
  const frame = panelFrame(name, "LINE");
  const ctx = { panel: frame.panel, body: frame.body, actions: frame.actions, foot: frame.foot };
  const index = new Map(experiments.map((e, i) => [e.id, i]));
  const by = grouping.by.get();
  const groups = groupRuns(experiments, by);
  lazy.observe(frame.panel, async () => {
    const chart = chartPanel(ctx, by.length ? async (range) => groupTraces(
      await getJSON(urls.compareGroups(experiments.map((e) => e.id), name, by, { smoothing: range.smoothing })), groups,
    ) : async (range) => {
      const data = await getJSON(urls.compareSeries(experiments.map((e) => e.id), name, range));
      const traces = [];
      const all = [];
      for (const [experimentId, seriesList] of Object.entries(data.experiments)) {
        const i = index.get(experimentId);
        const experiment = experiments[i];
        seriesList.forEach((s, j) => {
          all.push(s);
          traces.push({ label: s.name ? `${experiment.name} · ${s.name}` : experiment.name, steps: s.steps, values: s.values,
            smoothed: s.smoothed, color: colorAt(i), dash: DASHES[j % DASHES.length] });
        });
      }
      return { traces, meta: { series: all } };
    // The page's legend (above) names the colours: no plotly legend squeezing 20 runs' plots.
    // Group means align runs on their steps: those charts stay by step whatever the x axis.
    }, { name, legend: false, stepsOnly: by.length > 0, csvURL: () => urls.compareSeriesCSV(experiments.map((e) => e.id), name) });
    charts.add(chart);
    try {
      await chart.refresh();
      frame.panel.dataset.rendered = "1";
      frame.panel.dataset.experiments = String(new Set(chart.traces.map((t) => t.color)).size);
      if (by.length) frame.panel.dataset.groups = String(groups.length);
    } catch (error) {
      frame.body.replaceChildren(errorBox(error));
    }
  });
  return frame.panel;
}

async function main() {
  if (!ids.length) {
    app.replaceChildren(el("p", { className: "empty", text: "Select experiments on a project page to compare them." }));
    document.body.dataset.ready = "1";
    return;
  }
  try {
    const { experiments, now } = await getJSON(urls.compare(ids));
    const missing = new Set(ids).size - experiments.length;
    const projects = [...new Map(experiments.map((e) => [e.project_id, e.project_name])).entries()];
    setCrumbs([{ text: "Projects", href: "/ui/" },
      ...(projects.length === 1 ? [{ text: projects[0][1], href: urls.projectPage(projects[0][0]) }] : []), { text: "Compare" }]);
    const params = parametersTable(experiments);
    const curves = el("div", { className: "groups" });
    const paramNames = [...new Set(experiments.flatMap((e) => Object.keys(e.params)))];
    const groupHost = el("div", { className: "group-legend-host" });
    const drawCurves = () => {
      for (const chart of charts) chart.destroy(); // the panels are rebuilt
      charts.clear();
      curves.replaceChildren();
      groupHost.replaceChildren(...(grouping.active ? [groupLegend(groupRuns(experiments, grouping.by.get())),
        el("p", { className: "muted group-note", text: "Each line is the mean of its group's runs at each step (by step whatever the x axis); the band covers their min–max or ± one std." })] : []));
      const groups = new Groups(curves);
      const names = [...new Set(experiments.flatMap((e) => e.line_logs))];
      // Groups in order of first appearance, like the experiment page.
      for (const name of names) groups.grid(name).append(curvePanel(name, experiments));
      groups.refresh();
      if (!names.length) curves.append(el("p", { className: "muted", text: "None of these experiments has a LINE log." }));
    };
    app.replaceChildren(
      el("div", { className: "page-head" },
        el("div", { className: "page-title" }, el("h1", { text: `Compare ${experiments.length} experiment${experiments.length === 1 ? "" : "s"}` })),
        missing > 0 ? el("p", { className: "muted", text: `${missing} of the requested experiments no longer exist${missing === 1 ? "s" : ""}.` }) : null,
        legend(experiments)),
      el("div", { className: "compare-grid" },
        el("section", { className: "card" }, el("h2", { className: "card-title", text: "Values" }), valuesTable(experiments, now)),
        el("section", { className: "card" }, el("h2", { className: "card-title" }, "Parameters ",
          el("span", { className: "count", text: `${params.differing} differ` })), params.element)),
      environmentCompare(experiments, headCells) || "",
      el("div", { className: "section-head" }, el("h2", { className: "section-title", text: "Curves" }), smoothingControl(), xAxisControl(),
        groupByControl(paramNames, grouping.by.get(), (chosen) => { grouping.by.set(chosen); drawCurves(); }),
        bandControl(() => drawCurves())),
      groupHost,
      curves);
    drawCurves();
    document.body.dataset.painted = "1"; // tables and panel frames shown; the first screen's charts follow
    await lazy.firstScreen();
    document.body.dataset.ready = "1";
  } catch (error) {
    app.replaceChildren(errorBox(error));
    document.body.dataset.ready = "error";
  }
}

main();
