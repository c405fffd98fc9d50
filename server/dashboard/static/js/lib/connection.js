// Whether the server answers: every JSON request reports here; after a failure the page shows a
// banner, stops claiming to be live, and clears both once a request succeeds again.

const listeners = new Set();
let online = true;
let banner = null;

/** Is the server answering (as far as the last request tells)? */
export const isOnline = () => online;

/** Call fn(online) whenever that changes. */
export function onConnectionChange(fn) { listeners.add(fn); }

/** Reported by getJSON after each request: ok is false when it could not reach the server. */
export function reportRequest(ok, detail = "") {
  if (ok === online) return;
  online = ok;
  showBanner(ok ? null : detail);
  document.body.dataset.connection = ok ? "online" : "offline";
  for (const fn of listeners) fn(ok);
}

function showBanner(detail) {
  if (detail === null) {
    if (banner) banner.hidden = true;
    return;
  }
  if (!banner) {
    banner = document.createElement("div");
    banner.className = "connection-banner";
    banner.setAttribute("role", "alert");
    document.body.prepend(banner);
  }
  banner.textContent = `The server is not answering (${detail}). What you see may be out of date; retrying…`;
  banner.hidden = false;
}
