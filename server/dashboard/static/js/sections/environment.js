// The "Environment" section: which code and machine a run used (trackboard.capture records it).
// On the experiment page: the git commit with a copyable checkout command, the uncommitted diff,
// the command line, the machine and packages. On the compare page: the environments side by
// side, the rows that differ (another commit, another GPU) highlighted like parameters.

import { getJSON, urls } from "../lib/api.js";
import { el, errorBox } from "../lib/dom.js";
import { formatValue, fullValue } from "../lib/format.js";
import { flatten } from "../panels/table.js";

export const ENVIRONMENT_LOG = "environment";
const DIFF_ARTIFACT = "diff.patch";
const MAX_DIFF_LINES = 5000; // the rest is in the download
// Different in every run by nature: never "a difference" worth highlighting.
const VOLATILE = new Set(["pid", "started_at"]);

/** A command in a mono box with a Copy button. */
function copyable(text, label) {
  const status = el("span", { className: "copy-status muted", attrs: { "aria-live": "polite" } });
  const code = el("code", { className: "copy-text", text });
  const button = el("button", {
    className: "button small copy", type: "button", text: "Copy", attrs: { "aria-label": `Copy ${label}` },
    on: {
      click: async () => {
        try {
          await navigator.clipboard.writeText(text);
          status.textContent = "Copied";
        } catch {
          // No clipboard (plain http on another host): select the text for Ctrl+C instead.
          const range = document.createRange();
          range.selectNodeContents(code);
          const selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          status.textContent = "Selected: press Ctrl+C";
        }
      },
    },
  });
  return el("div", { className: "copy-row", dataset: { copy: label } }, code, button, status);
}

function checkoutCommand(git) {
  if (!git.remote) return `git checkout ${git.commit}`;
  const folder = (git.remote.split(/[/:]/).pop() || "repo").replace(/\.git$/, "") || "repo";
  return `git clone ${git.remote} ${folder} && cd ${folder} && git checkout ${git.commit}`;
}

function row(label, ...value) {
  return el("div", { className: "env-row" }, el("dt", { text: label }), el("dd", {}, ...value));
}

function codeBlock(experimentId, env, hasDiff) {
  const git = env.git;
  if (!git || !git.commit) return row("Code", el("span", { className: "muted", text: git ? "a git work tree with no commit yet" : "not in a git work tree" }));
  return [
    row("Commit",
      el("span", { className: "mono env-commit", title: git.commit, text: git.commit.slice(0, 12) }),
      git.branch ? el("span", { className: "env-branch", text: ` on ${git.branch}` }) : null,
      git.dirty ? el("span", { className: "badge env-dirty", title: "The work tree had uncommitted changes (see the diff)", text: "DIRTY" }) : null),
    git.remote ? row("Remote", el("span", { className: "mono", text: git.remote })) : null,
    row("Check out", copyable(checkoutCommand(git), "checkout command"),
      hasDiff ? el("div", { className: "muted env-hint" }, "then ", el("code", { text: `git apply ${DIFF_ARTIFACT}` }), " with ",
        el("a", { href: urls.artifact(experimentId, DIFF_ARTIFACT), download: DIFF_ARTIFACT, text: "the uncommitted changes" })) : null),
  ];
}

function diffView(text) {
  const lines = text.split("\n");
  const shown = lines.slice(0, MAX_DIFF_LINES);
  const pre = el("pre", { className: "code env-diff" }, shown.map((line) => el("span", {
    className: line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : line.startsWith("@@") ? "hunk" : "",
    text: `${line}\n`,
  })));
  const more = lines.length > shown.length ? el("p", { className: "muted", text: `${lines.length - shown.length} more lines in the download.` }) : null;
  return el("details", { className: "env-diff-box" },
    el("summary", { text: `Uncommitted changes (${DIFF_ARTIFACT}, ${lines.length} lines)` }), pre, more);
}

function machine(env) {
  const gpu = env.gpu && env.gpu.names ? `${env.gpu.names.join(", ")}${env.cuda ? ` · CUDA ${env.cuda}` : ""}` : (env.cuda ? `CUDA ${env.cuda} (no GPU visible)` : "none");
  const versions = Object.entries(env.versions || {}).map(([name, version]) => `${name} ${version}`).join(" · ");
  return [
    row("Host", `${env.user ? `${env.user}@` : ""}${env.hostname || "?"}`, env.pid ? el("span", { className: "muted", text: ` · pid ${env.pid}` }) : null),
    row("Platform", env.platform || "?"),
    row("Python", `${env.python || "?"}${env.python_implementation ? ` (${env.python_implementation})` : ""}`),
    row("GPU", gpu),
    versions ? row("Packages", el("span", { className: "env-versions", text: versions })) : null,
  ];
}

function allFields(env) {
  const fields = flatten(env);
  return el("details", { className: "env-all" }, el("summary", { text: `All ${fields.length} fields` }),
    el("table", { className: "data env-table" }, el("tbody", {}, fields.map((f) =>
      el("tr", { dataset: { key: f.key } }, el("th", { text: f.key }),
        el("td", { className: "mono", text: Array.isArray(f.value) ? JSON.stringify(f.value) : fullValue(f.value) }))))));
}

async function render(body, experimentId, hasDiff) {
  const { data: env } = await getJSON(urls.log(experimentId, ENVIRONMENT_LOG));
  const parts = [
    el("dl", { className: "env-list" },
      codeBlock(experimentId, env, hasDiff),
      env.argv !== undefined ? row("Command", copyable(`python ${env.argv}`.trim(), "command line"),
        env.cwd ? el("div", { className: "muted env-hint" }, "in ", el("code", { text: env.cwd })) : null) : null,
      machine(env)),
  ];
  if (hasDiff) {
    const response = await fetch(urls.artifact(experimentId, DIFF_ARTIFACT), { credentials: "same-origin" });
    if (response.ok) parts.push(diffView(await response.text()));
  }
  parts.push(allFields(env));
  body.replaceChildren(...parts);
}

/**
 * The experiment page's Environment card, hidden until the run has an ``environment`` log.
 * ``update(data)`` takes each overview poll (logs and artifacts) and renders once the log is there.
 */
export function environmentSection(experimentId) {
  const body = el("div", { className: "env-body" });
  const element = el("section", { className: "card environment", hidden: true, dataset: { section: "environment" } },
    el("h2", { className: "card-title", text: "Environment" }), body);
  let shown = "";
  return {
    element,
    update(data) {
      const log = data.logs.find((l) => l.name === ENVIRONMENT_LOG && l.type === "TABLE");
      if (!log) return;
      const hasDiff = data.artifacts.some((a) => a.name === DIFF_ARTIFACT);
      const key = `${log.version}|${hasDiff}`;
      if (key === shown) return;
      shown = key;
      element.hidden = false;
      render(body, experimentId, hasDiff).then(() => { element.dataset.rendered = "1"; })
        .catch((error) => body.replaceChildren(errorBox(error)));
    },
  };
}

/** The compare page's Environment card (null when no experiment has an environment). */
export function environmentCompare(experiments, headCells) {
  const names = [...new Set(experiments.flatMap((e) => Object.keys(e.environment || {})))].filter((n) => !VOLATILE.has(n));
  if (!names.length) return null;
  let differing = 0;
  const body = el("tbody", {}, names.map((name) => {
    const values = experiments.map((e) => (e.environment || {})[name]);
    const differs = values.some((v) => JSON.stringify(v ?? null) !== JSON.stringify(values[0] ?? null));
    if (differs) differing += 1;
    return el("tr", { className: differs ? "differs" : "", dataset: { env: name } }, el("th", { text: name, title: name }),
      values.map((v) => el("td", { className: "mono", text: v === undefined ? "—" : formatValue(v), title: v === undefined ? "" : fullValue(v) })));
  }));
  const table = el("table", { className: "data compare-table env-compare-table only-differences" }, el("thead", {}, headCells(experiments)), body);
  const only = el("input", { type: "checkbox", className: "only-differences", checked: true, on: { change: (e) => table.classList.toggle("only-differences", e.target.checked) } });
  return el("section", { className: "card environment-compare", dataset: { section: "environment" } },
    el("h2", { className: "card-title" }, "Environment ", el("span", { className: "count", text: `${differing} differ` })),
    el("div", { className: "panel-tools" }, el("label", { className: "check" }, only, `Only differences (${differing} of ${names.length})`)),
    el("div", { className: "table-scroll" }, table),
    differing ? null : el("p", { className: "muted env-same", text: "Same environment." }));
}
