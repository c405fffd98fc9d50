// The frame shared by every panel (title, type badge, actions, body, footer) and the groups
// panels are arranged in ("train/loss" goes in the "train" group).

import { el, prefixOf } from "./dom.js";

/** The name shown in a panel's title: without its group's prefix ("loss" in group "train"). */
export function shortName(name, group) {
  return group && name.startsWith(`${group}/`) && name.length > group.length + 1 ? name.slice(group.length + 1) : name;
}

/**
 * An empty panel for a log; render functions fill ``body``, ``actions`` and ``foot``.
 * @returns {{panel: HTMLElement, body: HTMLElement, actions: HTMLElement, foot: HTMLElement}}
 */
export function panelFrame(name, type) {
  const group = prefixOf(name);
  const actions = el("div", { className: "panel-actions" });
  const body = el("div", { className: "panel-body" }, el("div", { className: "placeholder", text: "Loading…" }));
  const foot = el("div", { className: "panel-foot" });
  const panel = el("section", { className: `panel type-${type.toLowerCase()}`, dataset: { log: name, type } },
    el("header", { className: "panel-head" },
      el("h3", { className: "panel-title", text: shortName(name, group), title: name }),
      el("span", { className: "badge", text: type }),
      actions),
    body, foot);
  return { panel, body, actions, foot };
}

/**
 * Group sections inside ``root``, created on first use, in the order their first log appears.
 * Logs without a prefix form an untitled group, which gets a title only when other groups exist.
 */
export class Groups {
  constructor(root) {
    this.root = root;
    this.groups = new Map();
  }

  grid(name) {
    const prefix = prefixOf(name);
    let group = this.groups.get(prefix);
    if (!group) {
      const count = el("span", { className: "count" });
      const toggle = el("button", { className: "group-toggle", type: "button", attrs: { "aria-expanded": "true" } },
        el("span", { className: "chevron", attrs: { "aria-hidden": "true" } }), prefix || "Other logs", count);
      const grid = el("div", { className: "panel-grid" });
      const section = el("section", { className: "group", dataset: { group: prefix } }, el("h2", { className: "group-title" }, toggle), grid);
      toggle.addEventListener("click", () => {
        const open = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(open));
        section.classList.toggle("collapsed", !open);
      });
      group = { section, grid, count };
      this.groups.set(prefix, group);
      // Named groups (train/, val/) first, in order of appearance; logs without a prefix last.
      const untitled = this.groups.get("");
      if (prefix && untitled) this.root.insertBefore(section, untitled.section);
      else this.root.append(section);
    }
    return group.grid;
  }

  /** Update counts, hide empty groups, and title the untitled group only beside others. */
  refresh() {
    let shown = 0;
    for (const group of this.groups.values()) {
      const panels = group.grid.querySelectorAll(":scope > .panel:not([hidden])").length;
      group.count.textContent = String(panels);
      group.section.hidden = panels === 0;
      if (panels) shown += 1;
    }
    const untitled = this.groups.get("");
    if (untitled) untitled.section.classList.toggle("untitled", shown <= 1);
  }
}
