// The project page: every experiment as a row (status, created, duration, VALUE logs, the last
// value of each LINE series, parameters), sortable by any column, filterable by name and status,
// with the best run for a chosen metric marked, and rows selected for the compare view.
//
// Only the rows in view are drawn (lib/virtual.js): sorting or filtering a thousand runs reorders
// an array and redraws thirty rows. The first rows come in a small first answer, the rest right
// after. Filter, status, sort, best metric and selection live in the URL (lib/urlstate.js), so
// Back, reload and a shared link restore them.

import { getJSON, urls } from "../lib/api.js";
import { debounce, el, errorBox, replace, setCrumbs, statusPill } from "../lib/dom.js";
import { asNumber, experimentDuration, formatDuration, formatNumber, formatStorage, formatTime, formatValue, fullValue, lowerIsBetter } from "../lib/format.js";
import { compareCells } from "../lib/table.js";
import { field, formats } from "../lib/urlstate.js";
import { VirtualRows } from "../lib/virtual.js";
import { grouping } from "../lib/grouping.js";
import { downloadText } from "../lib/plotly.js";
import { ProjectTools } from "./project_tools.js";

const POLL_MS = 5000;
const TOP_N = 5;
const FIRST_ROWS = 100; // rows of the first answer: the page paints them while the rest loads
const MAX_SELECTED = 50; // the most experiments one compare view shows (data.MAX_COMPARED)
const projectId = document.body.dataset.id;
const app = document.getElementById("app");

const url = {
  text: field("q", { initial: "" }),
  status: field("status", { initial: "" }),
  sort: field("sort", { initial: { key: "created", dir: -1 }, ...formats.sort }),
  best: field("best", { initial: { key: "", dir: -1 }, ...formats.sort }), // dir -1: lower is better
  selected: field("selected", { initial: [], ...formats.list }),
  // The columns to fetch and show (all when empty): for a column chooser to set.
  fields: field("fields", { initial: [], ...formats.list }),
};

const state = {
  data: null,
  columns: [],
  rows: new Map(), // experiment id -> {experiment, tr, check, star, cells: Map(key -> td)}, built when first drawn
  experiments: [],
  visible: [], // the experiments shown, filtered and sorted
  selected: new Set(url.selected.get()),
  text: url.text.get().trim().toLowerCase(),
  status: url.status.get(),
  sort: url.sort.get(),
  best: url.best.get(),
  bestId: "",
};

function saveSettings() {
  url.sort.set(state.sort);
  url.best.set(state.best);
}

function saveSelection() {
  url.selected.set([...state.selected]);
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
    if (check.checked && state.selected.size >= MAX_SELECTED) { check.checked = false; return; }
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
    } else if (column.render) {
      td = column.render(e);
    } else {
      td = el("td", { className: column.numeric ? "num" : "", text: column.format(value), title: column.title ? column.title(e) : fullValue(value) });
    }
    cells.set(column.key, td);
    tr.append(td);
  }
  return { experiment: e, tr, check, star, cells };
}

/** The row of an experiment, built on first use, its marks (selected, best) brought up to date. */
function rowOf(e) {
  let row = state.rows.get(e.id);
  if (!row) { row = buildRow(e, state.columns); state.rows.set(e.id, row); }
  const selected = state.selected.has(e.id);
  row.check.checked = selected;
  row.check.disabled = !selected && state.selected.size >= MAX_SELECTED;
  row.tr.classList.toggle("selected", selected);
  const best = e.id === state.bestId;
  row.tr.classList.toggle("best", best);
  row.star.textContent = best ? "★" : "";
  for (const [key, td] of row.cells) td.classList.toggle("best-cell", best && key === state.best.key);
  return row;
}

function header(columns) {
  const groupRow = el("tr", { className: "group-row" }, el("th", { className: "check-cell" }), el("th", { className: "star-cell" }));
  const labelRow = el("tr", {});
  const all = el("input", { type: "checkbox", className: "select-all", attrs: { "aria-label": "Select all shown experiments" } });
  all.addEventListener("change", () => {
    for (const e of state.visible) {
      if (!all.checked) state.selected.delete(e.id);
      else if (state.selected.size < MAX_SELECTED) state.selected.add(e.id);
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

/** The experiments that pass the filters, in the chosen order. */
function visibleRows() {
  const text = state.text;
  const status = state.status;
  const rows = [];
  for (const e of state.experiments) {
    if (status && e.status !== status) continue;
    if (!tools.matches(e)) continue;
    if (text && !e.name.toLowerCase().includes(text)) continue;
    rows.push(e);
  }
  const column = state.columns.find((c) => c.key === state.sort.key) || state.columns.find((c) => c.key === "created");
  const dir = state.sort.dir;
  const empty = (v) => v === undefined || v === null || v === "";
  const keyed = rows.map((e, i) => [e, column.value(e), i]);
  keyed.sort((a, b) => {
    if (empty(a[1]) || empty(b[1])) return compareCells(a[1], b[1]) || a[2] - b[2]; // empty cells last either way
    return dir * compareCells(a[1], b[1]) || a[2] - b[2];
  });
  return keyed.map(([e]) => e);
}

/** The experiment with the best value of the chosen metric among the shown ones (finite numbers only). */
function bestRow(rows) {
  const column = state.columns.find((c) => c.key === state.best.key);
  if (!column) return null;
  let best = null;
  let bestValue = null;
  for (const e of rows) {
    const v = asNumber(column.value(e));
    if (v === null || !Number.isFinite(v)) continue;
    if (best === null || (state.best.dir > 0 ? v > bestValue : v < bestValue)) { best = e; bestValue = v; }
  }
  return best ? { experiment: best, value: bestValue, column } : null;
}

function rankedRows(rows, n) {
  const column = state.columns.find((c) => c.key === state.best.key);
  if (!column) return [];
  return rows
    .map((e) => [e, asNumber(column.value(e))])
    .filter(([, v]) => v !== null && Number.isFinite(v))
    .sort((a, b) => state.best.dir * (b[1] - a[1]))
    .slice(0, n)
    .map(([e]) => e);
}

let view = null;
// The query box, column chooser, tags, group by and sweep links (project_tools.js).
const tools = new ProjectTools({
  projectId, selected: () => state.selected,
  rerender: () => { if (view) render(); },
  reload: async () => { await load(); },
});

/** Where keyboard focus is in the table, to put it back after the rows are redrawn. */
function focusInTable() {
  const active = document.activeElement;
  if (!view || !active || !view.table.contains(active)) return null;
  const tr = active.closest("tr[data-id]");
  const th = active.closest("th[data-key]");
  return { id: tr ? tr.dataset.id : null, key: th ? th.dataset.key : null, all: active.classList.contains("select-all"), cls: active.classList[0] || "" };
}

function restoreFocus(where) {
  if (!where) return;
  let target = null;
  if (where.all) target = view.table.querySelector("input.select-all");
  else if (where.key) target = [...view.table.querySelectorAll("th[data-key]")].find((th) => th.dataset.key === where.key);
  else if (where.id) {
    const row = state.rows.get(where.id);
    if (row && row.tr.isConnected) target = where.cls ? row.tr.querySelector(`.${CSS.escape(where.cls)}`) : row.tr;
  }
  if (target && target !== document.activeElement) target.focus({ preventScroll: true });
}

function render() {
  const focus = focusInTable();
  const rows = visibleRows();
  state.visible = rows;
  const best = bestRow(rows);
  state.bestId = best ? best.experiment.id : "";
  view.rows.setItems(rows);
  view.empty.hidden = rows.length > 0;
  const total = state.experiments.length;
  view.count.textContent = rows.length === total ? `${total.toLocaleString("en-US")} experiments` : `${rows.length.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} experiments`;
  // Best run: a star on its row, its cell highlighted (rowOf), and a card above the table.
  if (best) {
    view.bestCard.replaceChildren(
      el("span", { className: "best-star", text: "★" }),
      el("span", { className: "muted", text: "Best" }),
      el("a", { href: urls.experimentPage(best.experiment.id), text: best.experiment.name, className: "best-name" }),
      el("span", { className: "best-metric" }, `${best.column.label} = `, el("strong", { text: formatNumber(best.value) })),
      el("span", { className: "muted", text: state.best.dir > 0 ? "(highest)" : "(lowest)" }),
    );
  } else {
    view.bestCard.replaceChildren(el("span", { className: "muted", text: state.best.key ? "No run has a finite value of this metric." : "Choose a metric to find the best run." }));
  }
  view.bestCard.dataset.best = state.bestId;
  view.tableCard.hidden = grouping.active;
  tools.renderGroups({ status: state.status, text: state.text });
  restoreFocus(focus);
}

/** The shown rows and columns as CSV (full values, not the rounded text), for a download. */
function tableCSV() {
  const quote = (v) => {
    if (v === null || v === undefined) return "";
    const text = typeof v === "number" ? (Number.isNaN(v) ? "NaN" : String(v)) : String(v);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const raw = (column, e) => {
    if (column.key === "created") return new Date(e.created_at * 1000).toISOString();
    return column.value(e);
  };
  const head = ["id", ...state.columns.map((c) => (c.group === "Experiment" ? c.label : `${c.group}: ${c.label}`))];
  const lines = [head.map(quote).join(",")];
  for (const e of state.visible) lines.push([e.id, ...state.columns.map((c) => raw(c, e))].map(quote).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

function sortBy(key) {
  state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : (key === "name" || key === "status" ? 1 : -1) };
  saveSettings();
  markSorted();
  render();
}

/** The headers' sort marks brought up to date in place: rebuilding the header would lay the table out twice. */
function markSorted() {
  for (const th of view.table.querySelectorAll("thead th.sortable")) {
    const sorted = th.dataset.key === state.sort.key;
    th.classList.toggle("sorted", sorted);
    th.setAttribute("aria-sort", sorted ? (state.sort.dir > 0 ? "ascending" : "descending") : "none");
    th.querySelector(".sort-mark").textContent = sorted ? (state.sort.dir > 0 ? "▲" : "▼") : "";
  }
}

function updateSelection() {
  const n = state.selected.size;
  tools.selectionChanged(n);
  view.compare.disabled = n < 2;
  view.compare.textContent = n ? `Compare ${n} selected` : "Compare selected";
  view.clear.hidden = n === 0;
  view.limit.hidden = n < MAX_SELECTED;
  saveSelection();
  view.rows.render(); // checkboxes: checked, and disabled at the limit
}

function rebuildHead() {
  const focus = focusInTable();
  const { head, all } = header(state.columns);
  view.table.querySelector("thead").replaceWith(head);
  view.all = all;
  restoreFocus(focus);
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
      for (const e of rankedRows(visibleRows(), TOP_N)) if (state.selected.size < MAX_SELECTED) state.selected.add(e.id);
      updateSelection();
    } } });
  return { element: el("div", { className: "best-controls" }, el("span", { className: "label", text: "Best by" }), select, direction, sortByMetric, top), fill };
}

/** The page's fixed parts (title, toolbar, empty table), built once. */
function skeleton(project) {
  document.title = `${project.name} · trackboard`;
  setCrumbs([{ text: "Projects", href: "/ui/" }, { text: project.name }]);
  const search = el("input", { className: "search", type: "search", placeholder: "Filter by name…", value: url.text.get(), attrs: { "aria-label": "Filter experiments by name" },
    on: { input: debounce((e) => { url.text.set(e.target.value); state.text = e.target.value.trim().toLowerCase(); render(); }) } });
  const status = el("select", { className: "select status-filter", attrs: { "aria-label": "Filter by status" },
    on: { change: (e) => { state.status = e.target.value; url.status.set(state.status); render(); } } });
  const compare = el("button", { className: "button primary compare-button", type: "button", text: "Compare selected", disabled: true,
    on: { click: () => {
      const order = visibleRows().map((e) => e.id).filter((id) => state.selected.has(id));
      const ids = [...order, ...[...state.selected].filter((id) => !order.includes(id))];
      window.location.assign(urls.comparePage(ids));
    } } });
  const clear = el("button", { className: "button ghost", type: "button", text: "Clear selection", hidden: true,
    on: { click: () => { state.selected.clear(); updateSelection(); } } });
  const limit = el("span", { className: "muted selection-limit", hidden: true, text: `${MAX_SELECTED} selected: the most one comparison shows` });
  const csv = el("button", { className: "button", type: "button", text: "Download CSV", title: "The shown rows and columns, with full values",
    on: { click: () => downloadText(tableCSV(), `${project.name.replace(/[^\w.-]+/g, "_") || "project"}.csv`) } });
  const best = bestControls();
  const bestCard = el("div", { className: "best-card" });
  const count = el("span", { className: "muted count-label" });
  const body = el("tbody");
  const table = el("table", { className: "data runs" }, el("thead"), body);
  const scroller = el("div", { className: "table-scroll runs-scroll" }, table);
  const empty = el("p", { className: "empty", hidden: true });
  const tableCard = el("div", { className: "card table-card" }, scroller, empty);
  const meta = el("div", { className: "meta" });
  app.replaceChildren(
    el("div", { className: "page-head" },
      el("div", { className: "page-title" }, el("h1", { text: project.name })),
      meta,
      tools.description(project)),
    el("div", { className: "card best-panel" }, best.element, bestCard),
    el("div", { className: "toolbar" }, search, status, count, el("span", { className: "spacer" }), limit, clear, csv, compare),
    el("div", { className: "toolbar query-toolbar" }, tools.query.element, tools.columnChooser(() => applyData(state.data)),
      tools.groupAndSweep([], () => render())),
    el("div", { className: "toolbar selection-toolbar" }, tools.selectionActions()),
    tableCard,
    tools.groupHost,
  );
  const rows = new VirtualRows({ scroller, body, renderRow: (e) => rowOf(e).tr, overscan: 6 });
  view = { tableCard, table, body, empty, count, compare, clear, limit, bestCard, meta, status, rows, fillBest: best.fill };
}

/** Rows, columns and counts from a (re)load; sort, filters and selection are kept. */
function applyData(data, complete = true) {
  const { project, experiments, now } = data;
  state.columns = tools.columns(columnsOf(experiments, now), experiments);
  tools.setParams([...new Set(experiments.flatMap((e) => Object.keys(e.params)))]);
  chooseDefaultMetric(state.columns);
  state.experiments = experiments;
  state.rows = new Map(); // rows are rebuilt as they come into view
  const known = new Set(experiments.map((e) => e.id));
  if (complete) for (const id of [...state.selected]) if (!known.has(id)) state.selected.delete(id);
  const running = experiments.filter((e) => e.status === "RUNNING").length;
  replace(view.meta, 
    el("span", { text: `${data.total.toLocaleString("en-US")} experiment${data.total === 1 ? "" : "s"}` }),
    running ? el("span", { className: "status status-running", text: `${running} running` }) : null,
    el("span", { text: `Created ${formatTime(project.created_at)}` }),
    el("span", { className: "storage", title: "LINE points and image/artifact bytes stored", text: formatStorage(project.size) }));
  const statuses = [...new Set([...experiments.map((e) => e.status), ...(state.status ? [state.status] : [])])].sort();
  replace(view.status, el("option", { value: "", text: "All statuses" }),
    statuses.map((s) => el("option", { value: s, text: s, selected: s === state.status })));
  view.empty.textContent = experiments.length ? "No experiment matches the filters." : "No experiments yet.";
  view.fillBest();
  rebuildHead();
  render();
  updateSelection();
  return running;
}

/** Fetch the rows: the newest first (painted at once), then the others; polls fetch all at once. */
async function load(first = false) {
  const fields = url.fields.get().length ? url.fields.get() : null;
  if (first) {
    const extras = tools.fetch(); // tags and the query's matches, while the rows come
    const head = await getJSON(urls.project(projectId, { limit: FIRST_ROWS, fields }));
    if (tools.query.text) {
      await extras; // rows the query leaves out are never shown
    } else {
      // The first rows paint without waiting for the tags, which join them when they come.
      extras.then(() => {
        tools.apply(state.data.experiments);
        applyData(state.data, state.data.experiments.length >= state.data.total);
      }).catch((error) => console.error(error));
    }
    tools.apply(head.experiments);
    if (!view) skeleton(head.project);
    state.data = head;
    const running = applyData(head, head.total <= head.experiments.length);
    window.trackboardReadyAt = performance.now();
    document.body.dataset.ready = "1";
    if (head.total <= head.experiments.length) return running;
    const rest = await getJSON(urls.project(projectId, { offset: head.experiments.length, fields }));
    tools.apply(rest.experiments);
    state.data = { ...rest, experiments: [...head.experiments, ...rest.experiments] };
    return applyData(state.data);
  }
  const [data] = await Promise.all([getJSON(urls.project(projectId, { fields })), tools.fetch()]);
  tools.apply(data.experiments);
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
    const running = await load(true);
    window.trackboardCompleteAt = performance.now();
    document.body.dataset.complete = "1";
    // While runs are going their rows move; refresh them (keeping sort, filters, selection and focus).
    if (running) setTimeout(poll, POLL_MS);
  } catch (error) {
    app.replaceChildren(errorBox(error));
    document.body.dataset.ready = "error";
  }
}

main();
