// The x axis of every chart of a page: step, epoch, wall time or relative time (all stored with
// each point). One control per page sets it, kept in the URL as ?x=; every chart refetches its
// series with that x from the server (the steps replaced by epochs or times).

import { el } from "../lib/dom.js";
import { field } from "../lib/urlstate.js";

export const X_AXES = [
  { value: "step", label: "Step" },
  { value: "epoch", label: "Epoch" },
  { value: "time", label: "Wall time" },
  { value: "relative", label: "Relative time" },
];

export const xAxis = {
  mode: "step",
  charts: new Set(),
  set(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    for (const chart of this.charts) {
      chart.xRange = null; // a zoom in step units means nothing on another axis
      chart.refresh().catch((e) => console.error(e));
    }
  },
};

/** The page's x-axis chooser (one per page). */
export function xAxisControl() {
  const state = field("x", { initial: "step", parse: (text) => (X_AXES.some((a) => a.value === text) ? text : undefined) });
  xAxis.mode = state.get();
  const select = el("select", {
    className: "select x-axis-select", attrs: { "aria-label": "X axis of the charts" },
    on: { change: (e) => { state.set(e.target.value); xAxis.set(e.target.value); } },
  }, X_AXES.map((a) => el("option", { value: a.value, text: a.label, selected: a.value === xAxis.mode })));
  return el("label", { className: "x-axis", title: "What the charts' x axis shows (all stored with every point)" }, "X axis", select);
}
