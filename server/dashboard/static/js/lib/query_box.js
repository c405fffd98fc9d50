// The project page's query box: a run query in trackboard's query language
// (`params.lr < 0.01 and tags contains 'baseline'`), evaluated by the server's one query engine
// (GET /api/trackboard/projects/{id}/experiments?filter=...). A malformed query's error is shown
// under the box, where it was typed; the query lives in the URL as ?filter=.

import { getJSON, urls } from "./api.js";
import { el } from "./dom.js";
import { field } from "./urlstate.js";

/** A query-language name: bare when it is a plain word, else in backticks (`train/loss`). */
export function quoteName(name) {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `\`${name}\``;
}

/** The query field of a dashboard column key: p:optimizer.name -> params.optimizer.name, v:acc -> values.acc. */
export function queryField(key) {
  const [kind, name] = [key.slice(0, 2), key.slice(2)];
  if (kind === "p:") return `params.${name.split(".").map(quoteName).join(".")}`;
  if (kind === "v:") return `values.${quoteName(name)}`;
  if (kind === "l:") return `last.${name.split(" · ").map(quoteName).join(".")}`;
  return key;
}

/** A string literal of the query language. */
export function quoteText(text) {
  return `'${String(text).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export class QueryBox {
  /** @param {string} projectId  @param {() => void} onChange called when the matching runs change */
  constructor(projectId, onChange) {
    this.projectId = projectId;
    this.onChange = onChange;
    this.url = field("filter", { initial: "" });
    this.matching = null; // Set of the matching run ids; null: no query (every run)
    this.input = el("input", {
      className: "search query-input", type: "search", value: this.url.get(), spellcheck: false,
      placeholder: "Query: params.lr < 0.01 and values.accuracy >= 0.9", attrs: { "aria-label": "Run query" },
      on: { keydown: (e) => { if (e.key === "Enter") { e.preventDefault(); this.apply(this.input.value); } },
        search: () => { if (!this.input.value) this.apply(""); } },
    });
    this.error = el("div", { className: "query-error", hidden: true, attrs: { role: "alert" } });
    this.element = el("div", { className: "query-box" },
      el("div", { className: "query-row" }, this.input,
        el("button", { className: "button", type: "button", text: "Apply", on: { click: () => this.apply(this.input.value) } })),
      this.error);
  }

  get text() { return this.url.get(); }

  /** Run ``text`` (Enter, Apply, a tag chip); an error stays under the box and keeps the last good result. */
  async apply(text) {
    this.input.value = text;
    const ok = await this.evaluate(text.trim());
    if (ok) this.url.set(text.trim());
    this.onChange();
  }

  /** Evaluate the current query again (a reload: new runs may match). */
  refresh() { return this.evaluate(this.url.get()); }

  async evaluate(text) {
    if (!text) {
      this.matching = null;
      this.showError("");
      return true;
    }
    try {
      const answer = await getJSON(urls.runs(this.projectId, text));
      this.matching = new Set(answer.items.map((e) => e.id));
      this.showError("");
      return true;
    } catch (error) {
      if (error.status !== 400 && error.status !== 422) throw error;
      this.showError(error.message);
      return false;
    }
  }

  showError(message) {
    this.error.hidden = !message;
    this.error.textContent = message ? `Query error: ${message}` : "";
    this.input.classList.toggle("invalid", Boolean(message));
    this.input.setAttribute("aria-invalid", String(Boolean(message)));
  }

  /** Add ``condition`` to the query with ``and`` (a tag chip's click). */
  add(condition) {
    const text = this.url.get().trim();
    return this.apply(text ? `(${text}) and ${condition}` : condition);
  }
}
