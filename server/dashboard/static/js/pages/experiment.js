// The experiment page: VALUE logs as a summary, a panel per other log grouped by name prefix,
// artifacts; while the run is RUNNING it polls once a second and refreshes only what changed.

import { getJSON, urls } from "../lib/api.js";
import { debounce, el, errorBox, setCrumbs, statusPill } from "../lib/dom.js";
import { experimentDuration, formatBytes, formatDuration, formatShort, formatStorage, formatTime, fullValue } from "../lib/format.js";
import { Lazy } from "../lib/lazy.js";
import { Groups, panelFrame } from "../lib/panel.js";
import { isOnline, onConnectionChange } from "../lib/connection.js";
import { field } from "../lib/urlstate.js";
import { smoothingControl } from "../charts/controls.js";
import { xAxisControl } from "../charts/xaxis.js";
import { descriptionEditor, tagEditor } from "../lib/notes.js";
import { PANELS } from "../panels/index.js";
import { ENVIRONMENT_LOG, environmentSection } from "../sections/environment.js";

const POLL_MS = 1000;
const experimentId = document.body.dataset.id;
const app = document.getElementById("app");

const lazy = new Lazy();
const entries = new Map(); // log name -> {log, frame, handle, rendered, busy, dirty}
let groups = null;
let view = null; // elements updated by polls
const filterState = field("filter", { initial: "" });
let filterText = filterState.get().trim().toLowerCase();
let lastArtifacts = "";
let lastValues = "";

function header(data) {
  const { experiment, project } = data;
  const pill = el("span", { className: "pill-slot" }, statusPill(experiment.status));
  const duration = el("span", { text: formatDuration(experimentDuration(experiment, data.now)) });
  const live = el("span", { className: "live", text: "Live", title: "Updates as the run logs", hidden: experiment.status !== "RUNNING" });
  const head = el("div", { className: "page-head" },
    el("div", { className: "page-title" },
      el("h1", { text: experiment.name }),
      pill, live),
    el("div", { className: "meta" },
      el("span", {}, "Project ", el("a", { href: urls.projectPage(project.id), text: project.name })),
      el("span", {}, "Created ", el("time", { text: formatTime(experiment.created_at) })),
      el("span", {}, "Duration ", duration),
      el("span", { className: "storage", title: "LINE points and image/artifact bytes stored", text: formatStorage(data.size) }),
      el("span", { className: "mono", title: "Experiment id", text: experiment.id })),
    // Editable notes (lib/notes.js): the description and the tags.
    descriptionEditor(experiment, `/api/experiment/${encodeURIComponent(experiment.id)}`),
    tagEditor(experiment.id));
  return { head, pill, duration, live };
}

function summaryCards(values) {
  const names = Object.keys(values);
  if (!names.length) return el("p", { className: "muted", text: "No VALUE logs yet." });
  return el("div", { className: "value-cards" }, names.map((name) =>
    el("div", { className: "value-card", dataset: { value: name }, title: `${name} = ${fullValue(values[name])}` },
      el("div", { className: "value-name", text: name }),
      el("div", { className: "value-number", text: formatShort(values[name]) }))));
}

function artifactsTable(experimentIdValue, artifacts) {
  if (!artifacts.length) return el("p", { className: "muted", text: "No artifacts." });
  return el("div", { className: "table-scroll" }, el("table", { className: "data artifacts" },
    el("thead", {}, el("tr", {}, ["Name", "File", "Size", "Stored", ""].map((h) => el("th", { text: h })))),
    el("tbody", {}, artifacts.map((a) => el("tr", {},
      el("td", { text: a.name }),
      el("td", { className: "mono", text: a.filename }),
      el("td", { className: "num", text: formatBytes(a.size) }),
      el("td", { text: formatTime(a.created_at) }),
      el("td", {}, el("a", { className: "button small", href: urls.artifact(experimentIdValue, a.name), download: a.filename, text: "Download" })))))));
}

function toolbar() {
  const search = el("input", {
    className: "search", type: "search", placeholder: "Filter logs by name…", value: filterState.get(), attrs: { "aria-label": "Filter logs" },
    on: { input: debounce((e) => { filterState.set(e.target.value); filterText = e.target.value.trim().toLowerCase(); applyFilter(); }) },
  });
  const count = el("span", { className: "muted log-count" });
  return { bar: el("div", { className: "toolbar" }, search, smoothingControl(), xAxisControl(), count), count };
}

function applyFilter() {
  for (const [name, entry] of entries) entry.frame.panel.hidden = Boolean(filterText) && !name.toLowerCase().includes(filterText);
  groups.refresh();
}

async function renderEntry(entry) {
  const module = PANELS[entry.log.type];
  const ctx = { experimentId, log: entry.log, panel: entry.frame.panel, body: entry.frame.body, actions: entry.frame.actions, foot: entry.frame.foot };
  try {
    entry.handle = await module.render(ctx);
    entry.rendered = true;
    entry.frame.panel.dataset.rendered = "1";
  } catch (error) {
    entry.frame.body.replaceChildren(errorBox(error));
  }
}

function addEntry(log) {
  if (!PANELS[log.type]) return;
  const frame = panelFrame(log.name, log.type);
  const entry = { log, frame, handle: null, rendered: false, busy: false, dirty: false };
  entries.set(log.name, entry);
  groups.grid(log.name).append(frame.panel);
  if (filterText && !log.name.toLowerCase().includes(filterText)) frame.panel.hidden = true;
  lazy.observe(frame.panel, () => renderEntry(entry));
}

function removeEntry(name) {
  const entry = entries.get(name);
  lazy.unobserve(entry.frame.panel);
  if (entry.handle && entry.handle.chart) entry.handle.chart.destroy();
  entry.frame.panel.remove();
  entries.delete(name);
}

/** Refetch one rendered panel; a change that arrives meanwhile is applied right after. */
async function updateEntry(entry) {
  if (entry.busy) { entry.dirty = true; return; }
  entry.busy = true;
  try {
    do {
      entry.dirty = false;
      if (entry.handle && entry.handle.update) await entry.handle.update();
    } while (entry.dirty);
  } catch (error) {
    console.error(error);
  } finally {
    entry.busy = false;
  }
}

function applyLogs(logs) {
  const present = new Set();
  for (const log of logs) {
    if (log.type === "VALUE" || log.name === ENVIRONMENT_LOG) continue; // the environment has its own section
    present.add(log.name);
    const entry = entries.get(log.name);
    if (!entry) {
      addEntry(log);
    } else if (entry.log.type !== log.type) {
      // Replaced by a log of another type: a new panel, in the same place.
      const { panel } = entry.frame;
      const next = panel.nextSibling;
      const parent = panel.parentNode;
      removeEntry(log.name);
      addEntry(log);
      parent.insertBefore(entries.get(log.name).frame.panel, next);
    } else if (entry.log.version !== log.version) {
      entry.log = log;
      if (entry.rendered) updateEntry(entry);
    }
  }
  for (const name of [...entries.keys()]) if (!present.has(name)) removeEntry(name);
  const panels = entries.size;
  view.count.textContent = `${panels} panel${panels === 1 ? "" : "s"}`;
  groups.refresh();
}

function applyOverview(data) {
  const { experiment } = data;
  view.pill.replaceChildren(statusPill(experiment.status));
  view.duration.textContent = formatDuration(experimentDuration(experiment, data.now));
  view.live.hidden = experiment.status !== "RUNNING" || !isOnline();
  const values = JSON.stringify(data.values);
  if (values !== lastValues) { // rebuilt only on change, so a poll never disturbs a text selection
    lastValues = values;
    view.summary.replaceChildren(summaryCards(data.values));
  }
  const artifacts = JSON.stringify(data.artifacts);
  if (artifacts !== lastArtifacts) {
    lastArtifacts = artifacts;
    view.artifacts.replaceChildren(artifactsTable(experiment.id, data.artifacts));
    view.artifactCount.textContent = String(data.artifacts.length);
  }
  view.environment.update(data);
  applyLogs(data.logs);
  document.body.dataset.status = experiment.status;
}

function build(data) {
  document.title = `${data.experiment.name} · trackboard`;
  setCrumbs([{ text: "Projects", href: "/ui/" }, { text: data.project.name, href: urls.projectPage(data.project.id) }, { text: data.experiment.name }]);
  const { head, pill, duration, live } = header(data);
  const summary = el("div", { className: "summary-body" });
  const tools = toolbar();
  const groupsRoot = el("div", { className: "groups" });
  const artifacts = el("div");
  const artifactCount = el("span", { className: "count" });
  const environment = environmentSection(data.experiment.id);
  app.replaceChildren(
    head,
    el("section", { className: "card summary" }, el("h2", { className: "card-title", text: "Summary" }), summary),
    environment.element,
    tools.bar,
    groupsRoot,
    el("section", { className: "card artifacts-card" }, el("h2", { className: "card-title" }, "Artifacts ", artifactCount), artifacts),
  );
  groups = new Groups(groupsRoot);
  view = { pill, duration, live, summary, artifacts, artifactCount, count: tools.count, environment };
  applyOverview(data);
}

let timer = 0;

async function poll() {
  timer = 0;
  if (document.hidden) return; // resumed by visibilitychange
  let data = null;
  try {
    data = await getJSON(urls.experiment(experimentId));
    applyOverview(data);
  } catch (error) {
    if (error.status === 404) { // deleted meanwhile: say so, and stop asking
      app.prepend(errorBox(error));
      return;
    }
    console.error(error);
  }
  if (!data || data.experiment.status === "RUNNING") timer = setTimeout(poll, POLL_MS);
}

// Server gone: no "Live" claim (the banner says why); back: Live again, and the poll catches up.
onConnectionChange((online) => {
  if (view) view.live.hidden = !online || document.body.dataset.status !== "RUNNING";
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && !timer && document.body.dataset.status === "RUNNING") poll();
});

async function main() {
  try {
    const data = await getJSON(urls.experiment(experimentId));
    build(data);
    document.body.dataset.painted = "1"; // summary and panel frames shown; the first screen's charts follow
    await lazy.firstScreen();
    window.trackboardReadyAt = performance.now();
    document.body.dataset.ready = "1";
    if (data.experiment.status === "RUNNING") timer = setTimeout(poll, POLL_MS);
  } catch (error) {
    app.replaceChildren(errorBox(error));
    document.body.dataset.ready = "error";
  }
}

main();
