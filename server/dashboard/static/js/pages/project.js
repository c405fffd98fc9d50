// The project page: every experiment as a row (status, created, duration, VALUE logs, the last
// value of each LINE series, parameters), sortable by any column, filterable by name and status,
// with the best run for a chosen metric marked, and rows selected for the compare view.
//
// Rows are built once per load; sorting, filtering and picking the best only reorder and
// re-class existing <tr> elements, so a thousand experiments stay quick to work with.

import { getJSON, urls } from "../lib/api.js";
import { debounce, el, errorBox, replace, setCrumbs, statusPill } from "../lib/dom.js";
import { asNumber, experimentDuration, formatDuration, formatNumber, formatStorage, formatTime, formatValue, fullValue, lowerIsBetter } from "../lib/format.js";
import { compareCells } from "../lib/table.js";

const POLL_MS = 5000;
const TOP_N = 5;
const projectId = document.body.dataset.id;
const app = document.getElementById("app");
const storageKey = `trackboard:project:${projectId}`;

const state = {
  data: null,
  columns: [],
  rows: new Map(), // experiment id -> {experiment, tr, check, star, cells: Map(key -> td)}
  selected: new Set(),
  text: "",
  status: "",
  sort: { key: "created", dir: -1 },
  best: { key: "", dir: -1 }, // dir -1: lower is better, 1: higher
  ...loadSettings(),
};

function loadSettings() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "{}");
    return { ...(saved.sort ? { sort: saved.sort } : {}), ...(saved.best ? { best: saved.best } : {}) };
  } catch { return {}; }
}

function saveSettings() {
  try { localStorage.setItem(storageKey, JSON.stringify({ sort: state.sort, best: state.best })); } catch { /* private mode */ }
}

/** Column definitions from the union of what the experiments logged. */
function columnsOf(experiments, now) {
  const values = new Map();
  const lines = new Map();
  const params = new Map();
  for (const e of experiments) {
    for (const name of Object.keys(e.values)) values.set(name, true);
    for (const name of Object.keys(e.lines)) lines.set(name, true);
    for (const name of Object.keys(e.params)) params.set(name, true);
  }
  const columns = [
    { key: "name", label: "Name", group: "Experiment", value: (e) => e.name, cls: "name-cell" },
    { key: "status", label: "Status", group: "Experiment", value: (e) => e.status },
    { key: "created", label: "Created", group: "Experiment", value: (e) => e.created_at, format: formatTime, numeric: false },
    { key: "duration", label: "Duration", group: "Experiment", value: (e) => experimentDuration(e, now), format: formatDuration, numeric: true },
  ];
  for (const name of values.keys()) columns.push({ key: `v:${name}`, label: name, group: "Values", value: (e) => e.values[name], metric: true });
  for (const name of lines.keys()) {
    columns.push({
      key: `l:${name}`, label: name, group: "Last value", metric: true,
      value: (e) => (e.lines[name] ? e.lines[name][1] : undefined),
      title: (e) => (e.lines[name] ? `${name} = ${fullValue(e.lines[name][1])} at step ${formatNumber(e.lines[name][0])}` : ""),
    });
  }
  for (const name of params.keys()) columns.push({ key: `p:${name}`, label: name, group: "Parameters", value: (e) => e.params[name] });
  for (const column of columns) {
    column.format = column.format || formatValue;
    if (column.numeric === undefined) {
      column.numeric = experiments.some((e) => asNumber(column.value(e)) !== null)
        && experiments.every((e) => { const v = column.value(e); return v === undefined || v === null || asNumber(v) !== null; });
    }
  }
  return columns;
}

function buildRow(e, columns) {
  const check = el("input", { type: "checkbox", className: "row-check", checked: state.selected.has(e.id), attrs: { "aria-label": `Select ${e.name}` } });
  check.addEventListener("change", () => {
    if (check.checked) state.selected.add(e.id); else state.selected.delete(e.id);
    tr.classList.toggle("selected", check.checked);
    updateSelection();
  });
  const star = el("td", { className: "star-cell" });
  const tr = el("tr", { dataset: { id: e.id }, className: state.selected.has(e.id) ? "selected" : "" }, el("td", { className: "check-cell" }, check), star);
  const cells = new Map();
  for (const column of columns) {
    const value = column.value(e);
    let td;
    if (column.key === "name") {
      td = el("td", { className: "name-cell" }, el("a", { href: urls.experimentPage(e.id), text: e.name, title: e.name }));
    } else if (column.key === "status") {
      td = el("td", {}, statusPill(e.status));
    } else {
      td = el("td", { className: column.numeric ? "num" : "", text: column.format(value), title: column.title ? column.title(e) : fullValue(value) });
    }
    cells.set(column.key, td);
    tr.append(td);
  }
  return { experiment: e, tr, check, star, cells };
}

function header(columns) {
  const groupRow = el("tr", { className: "group-row" }, el("th", { className: "check-cell" }), el("th", { className: "star-cell" }));
  const labelRow = el("tr", {});
  const all = el("input", { type: "checkbox", className: "select-all", attrs: { "aria-label": "Select all shown experiments" } });
  all.addEventListener("change", () => {
    for (const row of visibleRows()) {
      row.check.checked = all.checked;
      row.tr.classList.toggle("selected", all.checked);
      if (all.checked) state.selected.add(row.experiment.id); else state.selected.delete(row.experiment.id);
    }
    updateSelection();
  });
  labelRow.append(el("th", { className: "check-cell" }, all), el("th", { className: "star-cell", title: "Best by the chosen metric", text: "★" }));
  let previous = null;
  let span = null;
  for (const column of columns) {
    if (column.group !== previous) {
      span = el("th", { className: `group-head group-${column.group.replace(/\s+/g, "-").toLowerCase()}`, text: column.group, colSpan: 1 });
      groupRow.append(span);
      previous = column.group;
    } else {
      span.colSpan += 1;
    }
    const sorted = state.sort.key === column.key;
    labelRow.append(el("th", {
      className: `sortable${column.numeric ? " num" : ""}${sorted ? " sorted" : ""}${column.key === "name" ? " name-cell" : ""}`,
      title: `${column.group}: ${column.label} (click to sort)`,
      dataset: { key: column.key },
      attrs: { "aria-sort": sorted ? (state.sort.dir > 0 ? "ascending" : "descending") : "none" },
      tabIndex: 0,
      on: { click: () => sortBy(column.key), keydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(column.key); } } },
    }, el("span", { className: "th-label", text: column.label }), el("span", { className: "sort-mark", text: sorted ? (state.sort.dir > 0 ? "▲" : "▼") : "" })));
  }
  return { head: el("thead", {}, groupRow, labelRow), all };
}

function visibleRows() {
  const text = state.text;
  const status = state.status;
  const rows = [];
  for (const row of state.rows.values()) {
    const e = row.experiment;
    if (status && e.status !== status) continue;
    if (text && !e.name.toLowerCase().includes(text)) continue;
    rows.push(row);
  }
  const column = state.columns.find((c) => c.key === state.sort.key) || state.columns.find((c) => c.key === "created");
  const dir = state.sort.dir;
  const empty = (v) => v === undefined || v === null || v === "";
  const keyed = rows.map((row, i) => [row, column.value(row.experiment), i]);
  keyed.sort((a, b) => {
    if (empty(a[1]) || empty(b[1])) return compareCells(a[1], b[1]) || a[2] - b[2]; // empty cells last either way
    return dir * compareCells(a[1], b[1]) || a[2] - b[2];
  });
  return keyed.map(([row]) => row);
}

/** The row with the best value of the chosen metric among the shown rows (finite numbers only). */
function bestRow(rows) {
  const column = state.columns.find((c) => c.key === state.best.key);
  if (!column) return null;
  let best = null;
  let bestValue = null;
  for (const row of rows) {
    const v = asNumber(column.value(row.experiment));
    if (v === null || !Number.isFinite(v)) continue;
    if (best === null || (state.best.dir > 0 ? v > bestValue : v < bestValue)) { best = row; bestValue = v; }
  }
  return best ? { row: best, value: bestValue, column } : null;
}

function rankedRows(rows, n) {
  const column = state.columns.find((c) => c.key === state.best.key);
  if (!column) return [];
  return rows
    .map((row) => [row, asNumber(column.value(row.experiment))])
    .filter(([, v]) => v !== null && Number.isFinite(v))
    .sort((a, b) => state.best.dir * (b[1] - a[1]))
    .slice(0, n)
    .map(([row]) => row);
}

let view = null;
let previousBest = null;

function render() {
  const rows = visibleRows();
  view.body.replaceChildren(...rows.map((r) => r.tr));
  view.empty.hidden = rows.length > 0;
  const total = state.rows.size;
  view.count.textContent = rows.length === total ? `${total.toLocaleString("en-US")} experiments` : `${rows.length.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} experiments`;
  // Best run: a star on its row, its cell highlighted, and a card above the table.
  if (previousBest) {
    previousBest.row.tr.classList.remove("best");
    previousBest.row.star.textContent = "";
    const cell = previousBest.row.cells.get(previousBest.column.key);
    if (cell) cell.classList.remove("best-cell");
  }
  const best = bestRow(rows);
  previousBest = best;
  if (best) {
    best.row.tr.classList.add("best");
    best.row.star.textContent = "★";
    best.row.cells.get(best.column.key).classList.add("best-cell");
    view.bestCard.replaceChildren(
      el("span", { className: "best-star", text: "★" }),
      el("span", { className: "muted", text: "Best" }),
      el("a", { href: urls.experimentPage(best.row.experiment.id), text: best.row.experiment.name, className: "best-name" }),
      el("span", { className: "best-metric" }, `${best.column.label} = `, el("strong", { text: formatNumber(best.value) })),
      el("span", { className: "muted", text: state.best.dir > 0 ? "(highest)" : "(lowest)" }),
    );
  } else {
    view.bestCard.replaceChildren(el("span", { className: "muted", text: state.best.key ? "No run has a finite value of this metric." : "Choose a metric to find the best run." }));
  }
  view.bestCard.dataset.best = best ? best.row.experiment.id : "";
}

function sortBy(key) {
  state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : (key === "name" || key === "status" ? 1 : -1) };
  saveSettings();
  rebuildHead();
  render();
}

function updateSelection() {
  const n = state.selected.size;
  view.compare.disabled = n < 2;
  view.compare.textContent = n ? `Compare ${n} selected` : "Compare selected";
  view.clear.hidden = n === 0;
}

function rebuildHead() {
  const { head, all } = header(state.columns);
  view.table.querySelector("thead").replaceWith(head);
  view.all = all;
}

function chooseDefaultMetric(columns) {
  if (columns.some((c) => c.key === state.best.key)) return;
  const metrics = columns.filter((c) => c.metric && c.numeric);
  const pick = metrics.find((c) => /acc|f1|map|auc|precision|recall|score|iou/i.test(c.label))
    || metrics.find((c) => c.key.startsWith("v:")) || metrics[0];
  state.best = pick ? { key: pick.key, dir: lowerIsBetter(pick.label) ? -1 : 1 } : { key: "", dir: -1 };
}

function bestControls() {
  const select = el("select", { className: "select best-metric-select", attrs: { "aria-label": "Metric for the best run" } });
  const direction = el("button", { className: "button", type: "button" });
  const fill = () => {
    const metrics = state.columns.filter((c) => c.metric && c.numeric);
    select.replaceChildren(el("option", { value: "", text: "— metric —" }), ...["Values", "Last value"].map((group) => {
      const options = metrics.filter((c) => c.group === group);
      return options.length ? el("optgroup", { label: group }, options.map((c) => el("option", { value: c.key, text: c.label, selected: c.key === state.best.key }))) : null;
    }).filter(Boolean));
    direction.textContent = state.best.dir > 0 ? "Higher is better" : "Lower is better";
  };
  select.addEventListener("change", () => {
    const column = state.columns.find((c) => c.key === select.value);
    state.best = { key: select.value, dir: column && lowerIsBetter(column.label) ? -1 : 1 };
    saveSettings();
    fill();
    render();
  });
  direction.addEventListener("click", () => { state.best.dir = -state.best.dir; saveSettings(); fill(); render(); });
  const sortByMetric = el("button", { className: "button", type: "button", text: "Sort by it", title: "Sort the table by this metric, best first",
    on: { click: () => { if (!state.best.key) return; state.sort = { key: state.best.key, dir: -state.best.dir }; saveSettings(); rebuildHead(); render(); } } });
  const top = el("button", { className: "button", type: "button", text: `Select top ${TOP_N}`, title: `Select the ${TOP_N} best shown runs, to compare them`,
    on: { click: () => {
      for (const row of rankedRows(visibleRows(), TOP_N)) { state.selected.add(row.experiment.id); row.check.checked = true; row.tr.classList.add("selected"); }
      updateSelection();
    } } });
  return { element: el("div", { className: "best-controls" }, el("span", { className: "label", text: "Best by" }), select, direction, sortByMetric, top), fill };
}

/** The page's fixed parts (title, toolbar, empty table), built once. */
function skeleton(project) {
  document.title = `${project.name} · trackboard`;
  setCrumbs([{ text: "Projects", href: "/ui/" }, { text: project.name }]);
  const search = el("input", { className: "search", type: "search", placeholder: "Filter by name…", attrs: { "aria-label": "Filter experiments by name" },
    on: { input: debounce((e) => { state.text = e.target.value.trim().toLowerCase(); render(); }) } });
  const status = el("select", { className: "select status-filter", attrs: { "aria-label": "Filter by status" },
    on: { change: (e) => { state.status = e.target.value; render(); } } });
  const compare = el("button", { className: "button primary compare-button", type: "button", text: "Compare selected", disabled: true,
    on: { click: () => {
      const order = visibleRows().map((r) => r.experiment.id).filter((id) => state.selected.has(id));
      const ids = [...order, ...[...state.selected].filter((id) => !order.includes(id))];
      window.location.assign(urls.comparePage(ids));
    } } });
  const clear = el("button", { className: "button ghost", type: "button", text: "Clear selection", hidden: true,
    on: { click: () => { state.selected.clear(); for (const row of state.rows.values()) { row.check.checked = false; row.tr.classList.remove("selected"); } updateSelection(); } } });
  const best = bestControls();
  const bestCard = el("div", { className: "best-card" });
  const count = el("span", { className: "muted count-label" });
  const body = el("tbody");
  const table = el("table", { className: "data runs" }, el("thead"), body);
  const empty = el("p", { className: "empty", hidden: true });
  const meta = el("div", { className: "meta" });
  app.replaceChildren(
    el("div", { className: "page-head" },
      el("div", { className: "page-title" }, el("h1", { text: project.name })),
      meta,
      project.description ? el("p", { className: "description", text: project.description }) : null),
    el("div", { className: "card best-panel" }, best.element, bestCard),
    el("div", { className: "toolbar" }, search, status, count, el("span", { className: "spacer" }), clear, compare),
    el("div", { className: "card table-card" }, el("div", { className: "table-scroll runs-scroll" }, table), empty),
  );
  view = { table, body, empty, count, compare, clear, bestCard, meta, status, fillBest: best.fill };
}

/** Rows, columns and counts from a (re)load; sort, filters and selection are kept. */
function applyData(data) {
  const { project, experiments, now } = data;
  state.columns = columnsOf(experiments, now);
  chooseDefaultMetric(state.columns);
  state.rows = new Map(experiments.map((e) => [e.id, buildRow(e, state.columns)]));
  for (const id of [...state.selected]) if (!state.rows.has(id)) state.selected.delete(id);
  const running = experiments.filter((e) => e.status === "RUNNING").length;
  replace(view.meta, 
    el("span", { text: `${experiments.length.toLocaleString("en-US")} experiment${experiments.length === 1 ? "" : "s"}` }),
    running ? el("span", { className: "status status-running", text: `${running} running` }) : null,
    el("span", { text: `Created ${formatTime(project.created_at)}` }),
    el("span", { className: "storage", title: "LINE points and image/artifact bytes stored", text: formatStorage(project.size) }));
  const statuses = [...new Set([...experiments.map((e) => e.status), ...(state.status ? [state.status] : [])])].sort();
  replace(view.status, el("option", { value: "", text: "All statuses" }),
    statuses.map((s) => el("option", { value: s, text: s, selected: s === state.status })));
  view.empty.textContent = experiments.length ? "No experiment matches the filters." : "No experiments yet.";
  previousBest = null;
  view.fillBest();
  rebuildHead();
  render();
  updateSelection();
  return running;
}

async function load() {
  const data = await getJSON(urls.project(projectId));
  if (!view) skeleton(data.project);
  state.data = data;
  return applyData(data);
}

async function poll() {
  try {
    const running = await load();
    if (running) setTimeout(poll, POLL_MS);
  } catch (error) {
    console.error(error);
    setTimeout(poll, POLL_MS * 2);
  }
}

async function main() {
  try {
    const running = await load();
    window.trackboardReadyAt = performance.now();
    document.body.dataset.ready = "1";
    // While runs are going their rows move; refresh them (keeping sort, filters and selection).
    if (running) setTimeout(poll, POLL_MS);
  } catch (error) {
    app.replaceChildren(errorBox(error));
    document.body.dataset.ready = "error";
  }
}

main();
