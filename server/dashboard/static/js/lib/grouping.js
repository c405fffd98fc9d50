// Grouping runs by parameters (e.g. every parameter but the seed), as W&B and Aim do: on the
// compare page one line per group (the mean over its runs at each step, computed by the server)
// with a band (min-max or +-std); on the project page one row per group (lib/group_table.js).
// The grouping and the band live in the URL (?group=lr,batch&band=std).

import { el } from "./dom.js";
import { field, formats } from "./urlstate.js";
import { colorAt } from "./plotly.js";
import { formatValue } from "./format.js";

export const BANDS = [
  { value: "minmax", label: "Min–max" },
  { value: "std", label: "± std" },
];

export const grouping = {
  by: field("group", { initial: [], ...formats.list }),
  band: field("band", { initial: "minmax", parse: (text) => (BANDS.some((b) => b.value === text) ? text : undefined) }),
  get active() { return this.by.get().length > 0; },
};

/** The label of a group from its key ({lr: 0.1, batch: 64} -> "lr=0.1, batch=64"), as the server makes it. */
export function groupLabel(key) {
  const parts = Object.entries(key).map(([name, value]) => `${name}=${value === null || value === undefined ? "—" : formatValue(value)}`);
  return parts.join(", ") || "all runs";
}

/** Runs grouped by the values of ``by`` (params), in order of first appearance: [{key, label, runs}]. */
export function groupRuns(experiments, by, paramsOf = (e) => e.params) {
  const groups = new Map();
  for (const e of experiments) {
    const key = Object.fromEntries(by.map((name) => [name, paramsOf(e)[name] ?? null]));
    const id = JSON.stringify(by.map((name) => key[name]));
    if (!groups.has(id)) groups.set(id, { key, label: groupLabel(key), runs: [] });
    groups.get(id).runs.push(e);
  }
  return [...groups.values()];
}

/** A dropdown of checkboxes, one per parameter; onChange(names) when the choice changes. */
export function groupByControl(names, chosen, onChange) {
  const selected = new Set(chosen);
  const summary = el("summary", { className: "button", text: "" });
  const say = () => { summary.textContent = selected.size ? `Group by: ${[...selected].join(", ")}` : "Group by…"; };
  const boxes = names.map((name) => {
    const box = el("input", { type: "checkbox", value: name, checked: selected.has(name), on: { change: () => {
      if (box.checked) selected.add(name); else selected.delete(name);
      say();
      onChange(names.filter((n) => selected.has(n)));
    } } });
    return el("label", { className: "check", dataset: { param: name } }, box, name);
  });
  say();
  return el("details", { className: "menu group-by" }, summary,
    el("div", { className: "menu-body" }, names.length ? boxes : el("p", { className: "muted", text: "No parameters to group by." })));
}

/** The band chooser (min-max or +-std); onChange(value). */
export function bandControl(onChange) {
  return el("label", { className: "band", title: "What the band around each group's mean covers" }, "Band",
    el("select", { className: "select band-select", attrs: { "aria-label": "Band around each group's mean" },
      on: { change: (e) => { grouping.band.set(e.target.value); onChange(e.target.value); } } },
    BANDS.map((b) => el("option", { value: b.value, text: b.label, selected: b.value === grouping.band.get() }))));
}

const DASHES = ["solid", "dash", "dot", "dashdot", "longdash"];

/** Chart traces of a compare/groups answer: per group and series the mean, with the chosen band. */
export function groupTraces(answer, groups) {
  const colors = new Map(groups.map((g, i) => [g.label, colorAt(i)]));
  const traces = [];
  const series = [];
  for (const group of answer.groups) {
    const label = groupLabel(group.key);
    group.series.forEach((s, j) => {
      const std = grouping.band.get() === "std";
      const band = std
        ? [s.mean.map((m, i) => (m === null ? null : m - s.std[i])), s.mean.map((m, i) => (m === null ? null : m + s.std[i]))]
        : [s.min, s.max];
      traces.push({ label: s.name ? `${label} · ${s.name}` : label, steps: s.steps, values: s.mean, band,
        color: colors.get(label) || colorAt(traces.length), dash: DASHES[j % DASHES.length] });
      series.push({ steps: s.steps, in_range: s.steps.length, nan: 0, inf: 0 });
    });
  }
  return { traces, meta: { series } };
}

/** The legend of the groups: a colour, the key, how many runs. */
export function groupLegend(groups) {
  return el("div", { className: "legend group-legend" }, groups.map((g, i) =>
    el("span", { className: "legend-item", dataset: { group: g.label } },
      el("span", { className: "swatch", attrs: { style: `background:${colorAt(i)}` } }),
      el("span", { className: "legend-name", text: g.label }),
      el("span", { className: "muted", text: `${g.runs.length} run${g.runs.length === 1 ? "" : "s"}` }))));
}
