// Editable notes: a description edited in place (the project's on its page, a run's on its page),
// and a run's tags as chips with x to remove and a box to add one. They write through the REST
// API (PATCH /api/project|experiment/{id}, POST /api/trackboard/experiments/{id}/tags).

import { getJSON, sendJSON } from "./api.js";
import { el } from "./dom.js";

/**
 * A description with an Edit button that turns it into a text area (Save / Cancel).
 * @param {{description?: string}} item the project or experiment row (its description is updated)
 * @param {string} patchURL where {description} is PATCHed; the answer carries the new description
 */
export function descriptionEditor(item, patchURL) {
  const text = el("p", { className: "description", text: item.description || "" });
  const host = el("div", { className: "description-box" });
  const show = () => {
    text.textContent = item.description || "";
    host.replaceChildren(text, el("button", { className: "button ghost edit-description", type: "button",
      text: item.description ? "Edit description" : "Add a description", on: { click: edit } }));
  };
  const edit = () => {
    const area = el("textarea", { className: "description-input", value: item.description || "", attrs: { "aria-label": "Description", rows: "3" } });
    const error = el("span", { className: "query-error", hidden: true });
    host.replaceChildren(area, el("div", { className: "description-actions" },
      el("button", { className: "button primary save-description", type: "button", text: "Save", on: { click: async () => {
        try {
          const answer = await sendJSON(patchURL, "PATCH", { description: area.value });
          item.description = answer.description;
          show();
        } catch (e) { error.hidden = false; error.textContent = e.message; }
      } } }),
      el("button", { className: "button ghost", type: "button", text: "Cancel", on: { click: show } }), error));
    area.focus();
  };
  show();
  return host;
}

const tagsURL = (id) => `/api/trackboard/experiments/${encodeURIComponent(id)}/tags`;

/** A run's tags: chips (x removes one) and a box to add a tag (Enter). */
export function tagEditor(experimentId) {
  const chips = el("span", { className: "tag-list" });
  const error = el("span", { className: "query-error", hidden: true });
  const draw = (tags) => {
    chips.replaceChildren(...tags.map((tag) => el("span", { className: "tag-chip", dataset: { tag } },
      el("span", { className: "tag-name", text: tag }),
      el("button", { className: "tag-remove", type: "button", text: "×", attrs: { "aria-label": `Remove tag ${tag}` },
        on: { click: () => change({ remove: [tag] }) } }))));
  };
  const change = async (body) => {
    try { draw((await sendJSON(tagsURL(experimentId), "POST", body)).tags); error.hidden = true; } catch (e) { error.hidden = false; error.textContent = e.message; }
  };
  const input = el("input", { className: "search small tag-input", type: "text", placeholder: "Add a tag", attrs: { "aria-label": "Add a tag" },
    on: { keydown: (e) => { if (e.key === "Enter" && input.value.trim()) { change({ add: [input.value.trim()] }); input.value = ""; } } } });
  getJSON(tagsURL(experimentId)).then((answer) => draw(answer.tags)).catch((e) => { error.hidden = false; error.textContent = e.message; });
  return el("div", { className: "run-tags" }, el("span", { className: "label", text: "Tags" }), chips, input, error);
}
