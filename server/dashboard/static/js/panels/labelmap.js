// LABELMAP panel: class id -> name as a table.

import { getJSON, urls } from "../lib/api.js";
import { DataTable } from "../lib/table.js";

export async function render(ctx) {
  const load = async () => {
    const { data } = await getJSON(urls.log(ctx.experimentId, ctx.log.name));
    const rows = Object.entries(data).map(([id, name]) => ({ id, name }));
    const table = new DataTable({
      columns: [{ key: "id", label: "Id", numeric: true, format: String }, { key: "name", label: "Name", format: String }],
      rows,
    });
    table.sortBy("id");
    ctx.body.replaceChildren(table.element);
  };
  await load();
  return { update: load };
}
