// Fetching the dashboard's JSON endpoints (/ui/data/...).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET a JSON endpoint; a 401 (token missing or revoked) goes to the sign-in form. */
export async function getJSON(url, { signal } = {}) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal });
  if (response.status === 401) {
    window.location.assign(`/ui/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, "Signing in is needed.");
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response.json();
}

const enc = encodeURIComponent;

function rangeQuery(range) {
  const { stepMin, stepMax, buckets } = range || {};
  let q = "";
  if (stepMin !== undefined && stepMin !== null) q += `&step_min=${stepMin}`;
  if (stepMax !== undefined && stepMax !== null) q += `&step_max=${stepMax}`;
  if (buckets) q += `&buckets=${buckets}`;
  return q;
}

/** URLs of the JSON endpoints and of the pages. */
export const urls = {
  projects: () => "/ui/data/projects",
  project: (id) => `/ui/data/projects/${enc(id)}`,
  experiment: (id) => `/ui/data/experiments/${enc(id)}`,
  log: (id, name) => `/ui/data/experiments/${enc(id)}/log?name=${enc(name)}`,
  series: (id, name, range) => `/ui/data/experiments/${enc(id)}/series?name=${enc(name)}${rangeQuery(range)}`,
  image: (id, name, sha) => `/ui/data/experiments/${enc(id)}/image?name=${enc(name)}&v=${enc(sha || "")}`,
  artifact: (id, name) => `/ui/data/experiments/${enc(id)}/artifact?name=${enc(name)}`,
  compare: (ids) => `/ui/data/compare?ids=${ids.map(enc).join(",")}`,
  compareSeries: (ids, name, range) => `/ui/data/compare/series?ids=${ids.map(enc).join(",")}&name=${enc(name)}${rangeQuery(range)}`,
  projectPage: (id) => `/ui/projects/${enc(id)}`,
  experimentPage: (id) => `/ui/experiments/${enc(id)}`,
  comparePage: (ids) => `/ui/compare?ids=${ids.map(enc).join(",")}`,
};
