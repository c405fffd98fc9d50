// What the project page adds to find the best run (issue 13): the query box, a column chooser,
// "hide constant columns", tag chips (a click queries the tag, x removes it), tagging and deleting
// the selected runs (deleting asks in the page first), the editable description, group by with one
// row per group (mean +- std, count), and the links to the sweep views. State lives in the URL.

import { getJSON, sendJSON, urls } from "../lib/api.js";
import { el, errorBox } from "../lib/dom.js";
import { formatNumber, formatValue } from "../lib/format.js";
import { groupByControl, grouping, groupLabel } from "../lib/grouping.js";
import { descriptionEditor } from "../lib/notes.js";
import { QueryBox, queryField, quoteText } from "../lib/query_box.js";
import { field, formats } from "../lib/urlstate.js";

const ALWAYS_SHOWN = new Set(["name", "status"]);
/** Whether every run has the same value in a column (missing counts as a value). */
function isConstant(experiments, value) {
  const first = value(experiments[0]);
  const text = JSON.stringify(first ?? null);
  return experiments.every((e) => { const v = value(e); return v === first || JSON.stringify(v ?? null) === text; });
}

export class ProjectTools {
  /**
   * @param {object} options
   * @param {string} options.projectId
   * @param {() => void} options.rerender redraw the table (filters changed)
   * @param {() => Promise<void>} options.reload fetch the rows again (runs changed on the server)
   * @param {() => Set<string>} options.selected the selected run ids
   */
  constructor({ projectId, rerender, reload, selected }) {
    this.projectId = projectId;
    this.rerender = rerender;
    this.reload = reload;
    this.selected = selected;
    this.hidden = field("hide", { initial: [], ...formats.list });
    this.hideConstant = field("constant", { initial: false, parse: (text) => text === "hide", format: (on) => (on ? "hide" : "") });
    this.query = new QueryBox(projectId, () => rerender());
    this.tags = {}; // experiment id -> [tag]
    this.allColumns = [];
    this.groupHost = el("div", { className: "card group-card", hidden: true });
  }

  /** Fetch every run's tags and the query's matches (alongside the rows: call before fetching them). */
  async fetch() {
    const [{ tags }] = await Promise.all([getJSON(urls.projectTags(this.projectId)), this.query.refresh()]);
    this.tags = tags;
  }

  /** Give fetched rows their tags. */
  apply(experiments) {
    for (const e of experiments) e.tags = this.tags[e.id] || [];
  }

  /** Whether a run passes the query. */
  matches(e) { return this.query.matching === null || this.query.matching.has(e.id); }

  /** The columns to show: the tags column added, the chooser's hidden ones and constant ones left out. */
  columns(all, experiments) {
    const tagsColumn = { key: "tags", label: "Tags", group: "Experiment", value: (e) => (e.tags || []).join(", "), numeric: false,
      format: formatValue, render: (e) => this.tagCell(e) };
    // Shown once some run has a tag ("Tag selected" adds the first).
    const tagged = experiments.some((e) => e.tags && e.tags.length);
    const at = all.findIndex((c) => c.group !== "Experiment");
    const columns = tagged ? [...all.slice(0, at < 0 ? all.length : at), tagsColumn, ...(at < 0 ? [] : all.slice(at))] : all;
    this.allColumns = columns;
    // Only worked out when asked for: it reads every cell of every run.
    const constant = new Set(this.hideConstant.get() && experiments.length > 1
      ? columns.filter((c) => !ALWAYS_SHOWN.has(c.key) && isConstant(experiments, c.value)).map((c) => c.key) : []);
    const hidden = new Set(this.hidden.get());
    return columns.filter((c) => ALWAYS_SHOWN.has(c.key) || (!hidden.has(c.key) && !constant.has(c.key)));
  }

  tagCell(e) {
    return el("td", { className: "tags-cell" }, (e.tags || []).map((tag) => el("span", { className: "tag-chip", dataset: { tag } },
      el("button", { className: "tag-name", type: "button", text: tag, title: `Show the runs tagged ${tag}`,
        on: { click: () => this.query.add(`tags contains ${quoteText(tag)}`) } }),
      el("button", { className: "tag-remove", type: "button", text: "×", title: `Remove the tag ${tag} from ${e.name}`, attrs: { "aria-label": `Remove tag ${tag}` },
        on: { click: () => this.changeTags([e.id], { remove: [tag] }) } }))));
  }

  async changeTags(ids, change) {
    await Promise.all(ids.map((id) => sendJSON(`/api/trackboard/experiments/${encodeURIComponent(id)}/tags`, "POST", change)));
    await this.reload();
  }

  /** The column chooser: a checkbox per column, and "hide constant columns". */
  columnChooser(onChange) {
    const body = el("div", { className: "menu-body columns-menu" });
    const fill = () => {
      const hidden = new Set(this.hidden.get());
      body.replaceChildren(
        el("label", { className: "check constant-toggle" }, el("input", { type: "checkbox", className: "hide-constant", checked: this.hideConstant.get(),
          on: { change: (e) => { this.hideConstant.set(e.target.checked); onChange(); } } }), "Hide constant columns"),
        ...this.allColumns.filter((c) => !ALWAYS_SHOWN.has(c.key)).map((c) => el("label", { className: "check", dataset: { key: c.key } },
          el("input", { type: "checkbox", checked: !hidden.has(c.key), on: { change: (e) => {
            const now = new Set(this.hidden.get());
            if (e.target.checked) now.delete(c.key); else now.add(c.key);
            this.hidden.set([...now]);
            onChange();
          } } }), c.group === "Experiment" ? c.label : `${c.group}: ${c.label}`)));
    };
    const menu = el("details", { className: "menu column-chooser", on: { toggle: () => fill() } }, el("summary", { className: "button", text: "Columns" }), body);
    this.fillChooser = () => { if (menu.open) fill(); };
    return menu;
  }

  /** Tag and delete the selected runs (delete confirms in the page). */
  selectionActions() {
    const tagInput = el("input", { className: "search tag-input", type: "text", placeholder: "tag", attrs: { "aria-label": "Tag to add to the selected runs" } });
    const add = el("button", { className: "button tag-add", type: "button", text: "Tag selected", disabled: true, on: { click: async () => {
      const tag = tagInput.value.trim();
      if (!tag || !this.selected().size) return;
      await this.changeTags([...this.selected()], { add: [tag] });
      tagInput.value = "";
    } } });
    const confirmBox = el("div", { className: "confirm-delete", hidden: true, attrs: { role: "alertdialog" } });
    const remove = el("button", { className: "button danger delete-selected", type: "button", text: "Delete selected", disabled: true, on: { click: () => {
      const ids = [...this.selected()];
      if (!ids.length) return;
      confirmBox.replaceChildren(
        el("span", { text: `Delete ${ids.length} run${ids.length === 1 ? "" : "s"} and everything they logged? This cannot be undone.` }),
        el("button", { className: "button danger confirm-yes", type: "button", text: "Delete", on: { click: async () => {
          confirmBox.hidden = true;
          await Promise.all(ids.map((id) => sendJSON(`/api/experiment/${encodeURIComponent(id)}`, "DELETE")));
          await this.reload();
        } } }),
        el("button", { className: "button ghost confirm-no", type: "button", text: "Cancel", on: { click: () => { confirmBox.hidden = true; } } }));
      confirmBox.hidden = false;
    } } });
    this.selectionButtons = [add, remove];
    return el("div", { className: "selection-actions" }, tagInput, add, remove, confirmBox);
  }

  /** Tagging and deleting need a selection. */
  selectionChanged(n) {
    for (const button of this.selectionButtons || []) button.disabled = n === 0;
  }

  /** The project's description, editable in place. */
  description(project) {
    return descriptionEditor(project, `/api/project/${encodeURIComponent(project.id)}`);
  }

  /** Group by parameters; links to the sweep views of the queried runs. */
  groupAndSweep(paramKeys, onChange) {
    const links = ["parallel", "scatter", "importance"].map((view) => el("a", { className: `button sweep-link sweep-${view}`, dataset: { view },
      text: { parallel: "Parallel coordinates", scatter: "Scatter", importance: "Importance" }[view],
      title: "A sweep view of the runs the query selects", href: "#",
      on: { click: (e) => {
        e.preventDefault();
        const q = new URLSearchParams({ view });
        if (this.query.text) q.set("filter", this.query.text);
        window.location.assign(`${urls.sweepPage(this.projectId)}?${q}`);
      } } }));
    this.groupByHost = el("span", { className: "group-by-host" });
    this.onGroup = onChange;
    this.setParams(paramKeys);
    return el("div", { className: "group-sweep" }, this.groupByHost, el("span", { className: "label", text: "Sweep" }), ...links);
  }

  /** The parameters to group by (the rows' parameter names): the control is rebuilt when they change. */
  setParams(keys) {
    const known = JSON.stringify(keys);
    if (!this.groupByHost || known === this.paramKeys) return;
    this.paramKeys = known;
    this.groupByHost.replaceChildren(groupByControl(keys, grouping.by.get(), (chosen) => { grouping.by.set(chosen); this.onGroup(); }));
  }

  /** Group mode: one row per group of the queried runs (and the status filter), each metric as mean ± std
   * over the group's runs, computed by the server (POST .../groups). */
  async renderGroups({ status, text }) {
    const by = grouping.by.get();
    this.groupHost.hidden = !by.length;
    if (!by.length) return;
    const sequence = (this.groupSequence = (this.groupSequence || 0) + 1);
    const query = this.query.text;
    const filter = [query ? `(${query})` : "", status ? `status = ${quoteText(status)}` : ""].filter(Boolean).join(" and ") || null;
    try {
      const answer = await getJSON(`/api/trackboard/projects/${encodeURIComponent(this.projectId)}/groups`, {
        method: "POST", body: { filter, by: by.map((name) => queryField(`p:${name}`)) } });
      if (sequence !== this.groupSequence) return; // a newer render asked again
      const groups = answer.groups;
      const metrics = [...new Set(groups.flatMap((g) => Object.keys(g.metrics)))];
      const head = el("tr", {}, by.map((name) => el("th", { text: name })), el("th", { className: "num", text: "Runs" }),
        metrics.map((m) => el("th", { className: "num", text: m, title: `${m}: mean ± std (count)` })), el("th"));
      const rows = groups.map((g) => el("tr", { className: "group-row-data", dataset: { group: groupLabel(Object.fromEntries(by.map((name, i) => [name, Object.values(g.key)[i]]))) } },
        Object.values(g.key).map((v) => el("td", { text: v === null ? "—" : formatValue(v) })),
        el("td", { className: "num group-count", text: String(g.ids.length) }),
        metrics.map((m) => {
          const s = g.metrics[m];
          const text = !s || s.mean === null ? "" : `${formatNumber(Number(s.mean))}${s.std === null ? "" : ` ± ${formatNumber(Number(s.std))}`}`;
          return el("td", { className: "num", text, title: s && s.count ? `${s.count} run${s.count === 1 ? "" : "s"}; min ${s.min}, max ${s.max}` : "" });
        }),
        el("td", {}, el("a", { className: "button ghost", href: `${urls.comparePage(g.ids.slice(0, 50))}`, text: "Compare" }))));
      const all = groups.flatMap((g) => g.ids).slice(0, 50);
      this.groupHost.replaceChildren(
        el("div", { className: "panel-tools" }, el("strong", { text: `${groups.length} group${groups.length === 1 ? "" : "s"}` }),
          text ? el("span", { className: "muted", text: "(groups follow the query and the status; the name filter does not apply)" }) : null,
          el("span", { className: "spacer" }),
          el("a", { className: "button primary compare-groups", href: `${urls.comparePage(all)}&group=${by.map(encodeURIComponent).join(",")}`,
            text: "Compare groups", title: "One line per group with a band (up to 50 runs)" })),
        el("div", { className: "table-scroll" }, el("table", { className: "data groups-table" }, el("thead", {}, head), el("tbody", {}, rows))));
    } catch (error) {
      this.groupHost.replaceChildren(errorBox(error));
    }
  }
}
