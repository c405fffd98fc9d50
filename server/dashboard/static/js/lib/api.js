// Fetching the dashboard's JSON endpoints (/ui/data/...). Every request tells lib/connection.js
// whether the server answered, which drives the "server is gone" banner.

import { reportRequest } from "./connection.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET a JSON endpoint; a 401 (token missing or revoked) goes to the sign-in form. */
export async function getJSON(url, { signal, method = "GET", body } = {}) {
  let response;
  const headers = { Accept: "application/json", ...(body === undefined ? {} : { "Content-Type": "application/json" }) };
  try {
    response = await fetch(url, { credentials: "same-origin", method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    if (error.name !== "AbortError") reportRequest(false, "no connection");
    throw new ApiError(0, "The server could not be reached.");
  }
  // A proxy in front of a stopped server answers 502-504: the server is gone as well.
  reportRequest(response.status < 502 || response.status > 504, `${response.status} ${response.statusText}`.trim());
  if (response.status === 401) {
    window.location.assign(`/ui/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, "Signing in is needed.");
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const answer = await response.json(); // the dashboard's {detail}, the REST API's {message}
      detail = answer.message || (typeof answer.detail === "string" ? answer.detail : "") || detail;
    } catch { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response.status === 204 ? null : response.json();
}

/** POST/PATCH/DELETE a JSON body to an endpoint (the REST API's writes: tags, description, delete). */
export function sendJSON(url, method, body) {
  return getJSON(url, { method, body });
}

const enc = encodeURIComponent;

function rangeQuery(range) {
  const { stepMin, stepMax, buckets, smoothing, x } = range || {};
  let q = "";
  if (x && x !== "step") q += `&x=${x}`;
  if (smoothing) q += `&smoothing=${smoothing}`;
  if (stepMin !== undefined && stepMin !== null) q += `&step_min=${stepMin}`;
  if (stepMax !== undefined && stepMax !== null) q += `&step_max=${stepMax}`;
  if (buckets) q += `&buckets=${buckets}`;
  return q;
}

/** URLs of the JSON endpoints and of the pages. */
export const urls = {
  projects: () => "/ui/data/projects",
  storage: () => "/ui/data/storage",
  project: (id, { offset = 0, limit = null, fields = null } = {}) => `/ui/data/projects/${enc(id)}?offset=${offset}`
    + `${limit ? `&limit=${limit}` : ""}${fields ? `&fields=${fields.map(enc).join(",")}` : ""}`,
  experiment: (id) => `/ui/data/experiments/${enc(id)}`,
  log: (id, name) => `/ui/data/experiments/${enc(id)}/log?name=${enc(name)}`,
  series: (id, name, range) => `/ui/data/experiments/${enc(id)}/series?name=${enc(name)}${rangeQuery(range)}`,
  seriesCSV: (id, name) => `/ui/data/experiments/${enc(id)}/series.csv?name=${enc(name)}`,
  image: (id, name, sha, seq) => `/ui/data/experiments/${enc(id)}/image?name=${enc(name)}&v=${enc(sha || "")}${seq === undefined ? "" : `&seq=${seq}`}`,
  images: (id, name) => `/ui/data/experiments/${enc(id)}/images?name=${enc(name)}`,
  artifact: (id, name) => `/ui/data/experiments/${enc(id)}/artifact?name=${enc(name)}`,
  compare: (ids) => `/ui/data/compare?ids=${ids.map(enc).join(",")}`,
  compareSeriesCSV: (ids, name) => `/ui/data/compare/series.csv?ids=${ids.map(enc).join(",")}&name=${enc(name)}`,
  compareGroups: (ids, name, by, range) => `/ui/data/compare/groups?ids=${ids.map(enc).join(",")}&name=${enc(name)}&by=${by.map(enc).join(",")}${rangeQuery(range)}`,
  projectTags: (id) => `/ui/data/projects/${enc(id)}/tags`,
  runs: (id, filter) => `/api/trackboard/projects/${enc(id)}/experiments${filter ? `?filter=${enc(filter)}` : ""}`,
  sweepPage: (id) => `/ui/projects/${enc(id)}/sweep`,
  compareSeries: (ids, name, range) => `/ui/data/compare/series?ids=${ids.map(enc).join(",")}&name=${enc(name)}${rangeQuery(range)}`,
  projectPage: (id) => `/ui/projects/${enc(id)}`,
  experimentPage: (id) => `/ui/experiments/${enc(id)}`,
  comparePage: (ids) => `/ui/compare?ids=${ids.map(enc).join(",")}`,
};
