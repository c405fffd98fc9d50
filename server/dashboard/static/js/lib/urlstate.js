// Page state kept in the URL's query string (filter, sort, selected runs, smoothing, ...), so Back,
// reload and a shared link restore it. Each control registers one field, reads its starting value
// from the URL and writes it back on change; writing replaces the current history entry (typing
// in a filter does not fill Back with entries). A field at its default is left out of the URL.

const fields = new Map();

/**
 * Register a field of the page state.
 * @param {string} key the query parameter
 * @param {object} options
 * @param {*} options.initial the default (left out of the URL)
 * @param {(text: string) => *} [options.parse] text -> value; throw or return undefined to ignore it
 * @param {(value: *) => string} [options.format] value -> text ("" is left out)
 * @returns {{key: string, get: () => *, set: (value: *) => void}}
 */
export function field(key, { initial, parse = (text) => text, format = (value) => String(value ?? "") } = {}) {
  const entry = { key, initial, parse, format, value: initial };
  const text = new URLSearchParams(window.location.search).get(key);
  if (text !== null) {
    try {
      const value = parse(text);
      if (value !== undefined) entry.value = value;
    } catch { /* a hand-edited link: keep the default */ }
  }
  entry.get = () => entry.value;
  entry.set = (value) => { entry.value = value; scheduleWrite(); };
  fields.set(key, entry);
  return entry;
}

// Fields set together (a sort sets sort and best) make one history update, at the end of the
// task: replaceState takes ~10 ms on a busy machine.
let writing = false;
function scheduleWrite() {
  if (writing) return;
  writing = true;
  queueMicrotask(() => { writing = false; write(); });
}

function write() {
  const params = new URLSearchParams(window.location.search);
  for (const entry of fields.values()) {
    const text = entry.format(entry.value);
    if (text === "" || text === entry.format(entry.initial)) params.delete(entry.key);
    else params.set(entry.key, text);
  }
  const query = params.toString().replace(/%2C/gi, ",").replace(/%3A/gi, ":").replace(/%2F/gi, "/");
  const url = `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`;
  if (url !== `${window.location.pathname}${window.location.search}${window.location.hash}`) {
    window.history.replaceState(window.history.state, "", url);
  }
}

/** Ready-made parse/format pairs. */
export const formats = {
  /** A list of strings, comma separated. */
  list: { parse: (text) => text.split(",").filter(Boolean), format: (list) => list.join(",") },
  /** A number within [min, max]. */
  number: (min, max) => ({
    parse: (text) => { const n = Number(text); return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : undefined; },
    format: (n) => String(n),
  }),
  /** {key, dir}: "-created" sorts by created, descending; "name" by name, ascending. */
  sort: {
    parse: (text) => (text.startsWith("-") ? { key: text.slice(1), dir: -1 } : { key: text, dir: 1 }),
    format: (sort) => (sort && sort.key ? `${sort.dir < 0 ? "-" : ""}${sort.key}` : ""),
  },
};
