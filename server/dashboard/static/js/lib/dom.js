// Building DOM nodes from data. Text always goes in through textContent / text nodes, never
// innerHTML, so log names, table keys and labels cannot become markup.

/**
 * Create an element.
 * @param {string} tag
 * @param {object} [props] className, text, title, href, attrs {}, dataset {}, on {event: fn}, and
 *   any other property assigned as is (type, value, checked, disabled, ...)
 * @param {...(Node|string|number|null|false|Array)} children strings become text nodes
 * @returns {HTMLElement}
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "className") node.className = value;
    else if (key === "attrs") for (const [a, v] of Object.entries(value)) { if (v !== null && v !== undefined) node.setAttribute(a, String(v)); }
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else node[key] = value;
  }
  append(node, children);
  return node;
}

/** Append children (nodes, strings as text, arrays flattened, null/false skipped). */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace a node's children (strings as text, null/false skipped, unlike replaceChildren). */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** Remove every child of a node. */
export function clear(node) {
  node.replaceChildren();
  return node;
}

/**
 * Text for plotly.js, which reads a subset of HTML in titles, labels and legends: escape it so a
 * name like "<b>x</b>" is shown as typed (plotly turns the entities back into characters).
 */
export function plotlyText(value) {
  return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** An error message in a box, for a panel or a page that could not load. */
export function errorBox(error) {
  return el("div", { className: "error-box", text: error && error.message ? error.message : String(error) });
}

/** The group of a log name: "train" for "train/loss", "" when the name has no prefix. */
export function prefixOf(name) {
  const slash = name.indexOf("/");
  return slash > 0 ? name.slice(0, slash) : "";
}

/** Set the breadcrumbs of the top bar: [{text, href?}, ...]. */
export function setCrumbs(items) {
  const nav = document.getElementById("crumbs");
  if (!nav) return;
  clear(nav);
  items.forEach((item, i) => {
    if (i) nav.append(el("span", { className: "crumb-sep", text: "/", attrs: { "aria-hidden": "true" } }));
    nav.append(item.href ? el("a", { href: item.href, text: item.text }) : el("span", { className: "crumb-current", text: item.text }));
  });
}

/** A debounced version of fn (for inputs that filter as you type). */
export function debounce(fn, ms = 120) {
  let timer = 0;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

/** An experiment status as a coloured pill (RUNNING, SUCCESS, FAILED, CRASHED, ...). */
export function statusPill(status) {
  const known = ["running", "success", "failed", "crashed"].includes(String(status).toLowerCase());
  return el("span", { className: `status status-${known ? String(status).toLowerCase() : "other"}`, text: status });
}
