// The page's chart controls that live in the URL: the smoothing weight, applied to every chart.

import { el } from "../lib/dom.js";
import { field, formats } from "../lib/urlstate.js";
import { smoothing } from "./line.js";

/** The smoothing slider of a page (one per page); its value is kept in the URL as ?smoothing=. */
export function smoothingControl() {
  const state = field("smoothing", { initial: 0, ...formats.number(0, 0.99) });
  smoothing.weight = state.get();
  const output = el("output", { text: smoothing.weight.toFixed(2) });
  let timer = 0;
  const apply = (weight) => { clearTimeout(timer); state.set(weight); smoothing.set(weight); };
  const slider = el("input", {
    type: "range", min: "0", max: "0.99", step: "0.01", value: String(smoothing.weight), className: "smoothing-slider",
    attrs: { "aria-label": "Smoothing weight" },
    on: {
      // While dragging, charts follow a little behind; letting go applies at once.
      input: (e) => { const w = Number(e.target.value); output.textContent = w.toFixed(2); clearTimeout(timer); timer = setTimeout(() => apply(w), 200); },
      change: (e) => apply(Number(e.target.value)),
    },
  });
  return el("label", { className: "smoothing", title: "Exponential moving average of every chart (TensorBoard's, on the full-resolution series); 0 is off" },
    "Smoothing", slider, output);
}
