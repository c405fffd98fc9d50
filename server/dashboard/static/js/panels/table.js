// TABLE panel: a mapping shown as key / value rows (nested keys flattened as a.b.c), or the
// matrix form {data, rows, columns}; both searchable.

import { getJSON, urls } from "../lib/api.js";
import { el } from "../lib/dom.js";
import { DataTable } from "../lib/table.js";
import { formatValue } from "../lib/format.js";

/** Nested mappings flattened to dotted keys; lists kept whole (shown as JSON). */
export function flatten(table, prefix = "", out = []) {
  for (const [key, value] of Object.entries(table)) {
    const name = prefix + key;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) flatten(value, `${name}.`, out);
    else out.push({ key: name, value });
  }
  return out;
}

const cellText = (value) => (Array.isArray(value) ? JSON.stringify(value) : formatValue(value));

function isMatrix(data) {
  return Array.isArray(data.data) && Object.keys(data).every((k) => ["data", "rows", "columns"].includes(k));
}

function matrixTable(data) {
  const width = data.data.length ? data.data[0].length : 0;
  const labels = data.columns || Array.from({ length: width }, (_, i) => String(i));
  const columns = labels.map((label, i) => ({ key: `c${i}`, label: String(label), value: (row) => row.cells[i], numeric: true }));
  if (data.rows) columns.unshift({ key: "row", label: "", value: (row) => row.label });
  const rows = data.data.map((cells, r) => ({ cells, label: data.rows ? data.rows[r] : r }));
  const table = new DataTable({ columns, rows });
  return { table, text: (row) => [row.label, ...row.cells].map(cellText).join("\u0000") };
}

function mappingTable(data) {
  const rows = flatten(data);
  const table = new DataTable({
    columns: [
      { key: "key", label: "Key" },
      { key: "value", label: "Value", format: cellText },
    ],
    rows,
  });
  return { table, text: (row) => `${row.key}\u0000${cellText(row.value)}` };
}

/** A search box that filters a DataTable's rows by their text. */
export function searchBox(table, text, placeholder = "Search…") {
  return el("input", {
    className: "search small", type: "search", placeholder, attrs: { "aria-label": placeholder },
    on: { input: (event) => {
      const needle = event.target.value.trim().toLowerCase();
      table.setFilter(needle ? (row) => text(row).toLowerCase().includes(needle) : null);
    } },
  });
}

export async function render(ctx) {
  let search = null;
  const load = async () => {
    const { data } = await getJSON(urls.log(ctx.experimentId, ctx.log.name));
    const { table, text } = isMatrix(data) ? matrixTable(data) : mappingTable(data);
    const box = searchBox(table, text);
    if (search && search.value) { box.value = search.value; box.dispatchEvent(new Event("input")); }
    search = box;
    ctx.body.replaceChildren(el("div", { className: "panel-tools" }, box), table.element);
    ctx.panel.dataset.rows = String(table.rows.length);
  };
  await load();
  return { update: load };
}
