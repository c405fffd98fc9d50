// The projects list: a card per project with its experiment counts and latest activity.

import { getJSON, urls } from "../lib/api.js";
import { el, errorBox, setCrumbs } from "../lib/dom.js";
import { formatAgo, formatStorage } from "../lib/format.js";

const app = document.getElementById("app");

function card(project, now) {
  const n = project.experiments;
  return el("a", { className: "card project-card", href: urls.projectPage(project.id), dataset: { project: project.name } },
    el("h2", { className: "project-name", text: project.name }),
    project.description ? el("p", { className: "description", text: project.description }) : null,
    el("div", { className: "meta" },
      el("span", { text: `${n.toLocaleString("en-US")} experiment${n === 1 ? "" : "s"}` }),
      project.running ? el("span", { className: "status status-running", text: `${project.running} running` }) : null,
      el("span", { text: project.last_update ? `updated ${formatAgo(project.last_update, now)}` : "no runs yet" }),
      el("span", { className: "storage", title: "LINE points and image/artifact bytes stored", dataset: { storageOf: project.id } })));
}

function emptyState() {
  return el("div", { className: "card empty-state" },
    el("h2", { text: "No projects yet" }),
    el("p", { className: "muted", text: "Log an experiment and it shows up here:" }),
    el("pre", { className: "code", text: 'from trackboard import Client, LogType\n\nclient = Client()\nproject = client.get_or_create_project("My project")\nexperiment = project.create_experiment("baseline", parameters={"lr": 1e-3})\nexperiment.log("loss", [0.9, 0.5, 0.3], LogType.LINE)' }));
}

async function main() {
  setCrumbs([{ text: "Projects" }]);
  try {
    const sizes = getJSON(urls.storage()); // summing every project's storage takes longer: the cards come first
    const { projects, now } = await getJSON(urls.projects());
    app.replaceChildren(
      el("div", { className: "page-head" }, el("div", { className: "page-title" }, el("h1", { text: "Projects" })),
        el("div", { className: "meta" }, el("span", { text: `${projects.length} project${projects.length === 1 ? "" : "s"}` }))),
      projects.length ? el("div", { className: "project-grid" }, projects.map((p) => card(p, now))) : emptyState());
    document.body.dataset.ready = "1";
    const held = (await sizes).projects;
    for (const span of app.querySelectorAll("[data-storage-of]")) span.textContent = formatStorage(held[span.dataset.storageOf]);
    document.body.dataset.sizes = "1";
  } catch (error) {
    app.replaceChildren(errorBox(error));
    document.body.dataset.ready = "error";
  }
}

main();
