// How numbers, dates and durations are shown. Values come from JSON, where non-finite floats
// arrive as the strings "NaN", "Infinity" and "-Infinity" (see trackboard.jsonable).

const NON_FINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

/** A number from a JSON value (non-finite names included), or null for anything else. */
export function asNumber(value) {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return null;
  if (typeof value === "string" && value in NON_FINITE) return NON_FINITE[value];
  return null;
}

// One formatter for every integer: toLocaleString("en-US") builds a new one on each call (slow
// over the thousand cells of a project table).
const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A compact, readable number: 1,234 / 0.9731 / 1.235e-5. */
export function formatNumber(n) {
  if (n === null || n === undefined) return "—";
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "∞" : "−∞";
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return INTEGER.format(n);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return n.toExponential(3).replace(/\.?0+e/, "e");
  return String(Number(n.toPrecision(4)));
}

const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumSignificantDigits: 4 });

/**
 * A scalar for a small card: large numbers in compact form ("6.327B" for 6,326,899,123), so no
 * digit is cut off; the full value goes in the card's tooltip.
 */
export function formatShort(value) {
  const n = asNumber(value);
  if (n !== null && Number.isFinite(n) && Math.abs(n) >= 1e6 && Math.abs(n) < 1e15) return COMPACT.format(n);
  return formatValue(value);
}

/** Any logged scalar (number, bool, string) as text. */
export function formatValue(value) {
  if (value === null || value === undefined) return "—";
  const n = asNumber(value);
  if (n !== null) return formatNumber(n);
  return String(value);
}

/** The value with every digit, for a tooltip. */
export function fullValue(value) {
  return value === null || value === undefined ? "" : String(value);
}

/** A timestamp (seconds) as "2025-11-26 14:03". */
export function formatTime(seconds) {
  if (!seconds) return "—";
  const d = new Date(seconds * 1000);
  const pad = (x) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(seconds, now = Date.now() / 1000) {
  if (!seconds) return "—";
  const s = Math.max(0, now - seconds);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A duration in seconds as "42s", "3m 12s", "1h 02m", "2d 4h". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** How long an experiment ran (or has been running, measured against the server's clock). */
export function experimentDuration(experiment, now) {
  const end = experiment.finished_at || (experiment.status === "RUNNING" ? now : experiment.updated_at);
  return end - experiment.created_at;
}

/** Bytes as "12.3 kB". */
export function formatBytes(size) {
  if (!Number.isFinite(size)) return "—";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let n = size;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
  return `${i ? n.toFixed(n < 10 ? 1 : 0) : n} ${units[i]}`;
}

/**
 * Whether lower is better for a metric, guessed from its name (loss, error, ...): the default
 * direction when picking the best run; the user can flip it.
 */
export function lowerIsBetter(name) {
  return /loss|err|mse|mae|rmse|perplex|wer|cer|latency|time|cost|fpr|fnr|distance|nll/i.test(name);
}

/** Storage held ({points, blob_bytes}) as "12,345 points · 1.2 MB". */
export function formatStorage(size) {
  if (!size) return "—";
  return `${size.points.toLocaleString("en-US")} point${size.points === 1 ? "" : "s"} · ${formatBytes(size.blob_bytes)}`;
}
