// A small sortable, filterable, paged table for panels (TABLE, LABELMAP, EVALUATION).

import { el, clear } from "./dom.js";
import { asNumber, formatValue, fullValue } from "./format.js";

/** Compare two cell values: numbers by value, text naturally, empty cells always last. */
export function compareCells(a, b) {
  const emptyA = a === null || a === undefined || a === "";
  const emptyB = b === null || b === undefined || b === "";
  if (emptyA || emptyB) return emptyA === emptyB ? 0 : emptyA ? 1 : -1;
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== null && nb !== null) {
    if (Number.isNaN(na) || Number.isNaN(nb)) return Number.isNaN(na) === Number.isNaN(nb) ? 0 : Number.isNaN(na) ? 1 : -1;
    return na - nb;
  }
  return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
}

export class DataTable {
  /**
   * @param {object} options
   * @param {Array<{key: string, label: string, value?: Function, format?: Function, numeric?: boolean}>} options.columns
   * @param {Array<object>} options.rows
   * @param {number|null} [options.pageSize] rows per page (all when null)
   * @param {Function} [options.rowClass] row -> class name
   * @param {string} [options.empty] text when no row matches
   */
  constructor({ columns, rows, pageSize = null, rowClass = null, empty = "Nothing to show." }) {
    this.columns = columns.map((c) => ({ value: (row) => row[c.key], format: formatValue, ...c }));
    this.rows = rows;
    this.pageSize = pageSize;
    this.rowClass = rowClass;
    this.emptyText = empty;
    this.predicate = null;
    this.sort = null; // {key, dir}
    this.page = 0;
    this.head = el("thead");
    this.body = el("tbody");
    this.status = el("span", { className: "table-status muted" });
    this.prev = el("button", { className: "button small", type: "button", text: "‹ Prev", on: { click: () => this.goto(this.page - 1) } });
    this.next = el("button", { className: "button small", type: "button", text: "Next ›", on: { click: () => this.goto(this.page + 1) } });
    this.table = el("table", { className: "data" }, this.head, this.body);
    // A paged table shows a whole page: no scroll box inside the page.
    this.element = el("div", { className: `table-block${pageSize ? " paged" : ""}` },
      el("div", { className: "table-scroll" }, this.table),
      el("div", { className: "table-foot" }, this.status, pageSize ? el("span", { className: "pager" }, this.prev, this.next) : null));
    this.renderHead();
    this.render();
  }

  renderHead() {
    const row = el("tr");
    for (const column of this.columns) {
      const sorted = this.sort && this.sort.key === column.key;
      const th = el("th", {
        className: `${column.numeric ? "num" : ""} sortable${sorted ? " sorted" : ""}`,
        title: column.title || column.label,
        attrs: { "aria-sort": sorted ? (this.sort.dir > 0 ? "ascending" : "descending") : "none" },
        tabIndex: 0,
        on: { click: () => this.sortBy(column.key), keydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); this.sortBy(column.key); } } },
      }, column.label, el("span", { className: "sort-mark", text: sorted ? (this.sort.dir > 0 ? "▲" : "▼") : "" }));
      row.append(th);
    }
    clear(this.head).append(row);
  }

  sortBy(key) {
    const dir = this.sort && this.sort.key === key ? -this.sort.dir : 1;
    this.sort = { key, dir };
    this.renderHead();
    this.render();
  }

  setRows(rows) { this.rows = rows; this.render(); }

  /** Show only the rows for which predicate(row) is true (null: all). */
  setFilter(predicate) { this.predicate = predicate; this.page = 0; this.render(); }

  goto(page) { this.page = page; this.render(); }

  visibleRows() {
    let rows = this.predicate ? this.rows.filter(this.predicate) : this.rows.slice();
    if (this.sort) {
      const column = this.columns.find((c) => c.key === this.sort.key);
      const dir = this.sort.dir;
      rows = rows.map((row, i) => [row, i]).sort((a, b) => {
        const c = compareCells(column.value(a[0]), column.value(b[0]));
        // Empty cells stay last in both directions; ties keep their original order.
        const empty = (v) => v === null || v === undefined || v === "";
        if (empty(column.value(a[0])) || empty(column.value(b[0]))) return c || a[1] - b[1];
        return dir * c || a[1] - b[1];
      }).map(([row]) => row);
    }
    return rows;
  }

  render() {
    const rows = this.visibleRows();
    const size = this.pageSize || rows.length || 1;
    const pages = Math.max(1, Math.ceil(rows.length / size));
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    const start = this.page * size;
    const shown = this.pageSize ? rows.slice(start, start + size) : rows;
    const fragment = document.createDocumentFragment();
    for (const row of shown) {
      const tr = el("tr", { className: this.rowClass ? this.rowClass(row) : "" });
      for (const column of this.columns) {
        const value = column.value(row);
        tr.append(el("td", { className: column.numeric ? "num" : "", text: column.format(value, row), title: fullValue(value) }));
      }
      fragment.append(tr);
    }
    if (!shown.length) fragment.append(el("tr", {}, el("td", { className: "empty", colSpan: this.columns.length, text: this.emptyText })));
    clear(this.body).append(fragment);
    const total = this.rows.length;
    const plural = (n) => `${n.toLocaleString("en-US")} row${n === 1 ? "" : "s"}`;
    const range = this.pageSize && rows.length > shown.length ? `${start + 1}–${start + shown.length} of ` : "";
    // "1–15 of 20 rows (120 in all)": the page, the rows that match, and all of them.
    this.status.textContent = rows.length === total
      ? `${range}${plural(total)}`
      : range ? `${range}${plural(rows.length)} (${total.toLocaleString("en-US")} in all)` : `${rows.length.toLocaleString("en-US")} of ${plural(total)}`;
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= pages - 1;
  }
}
