// Rendering panels in order of need: those in the first screen at once, those coming into view
// next, and then the rest one by one in idle time ("ahead of the scroll"), so a page of a dozen
// panels is complete in a full-page capture or a print, and a page of 200 stays quick to open.

const idle = window.requestIdleCallback
  ? (fn) => window.requestIdleCallback(fn, { timeout: 500 })
  : (fn) => setTimeout(fn, 30);

export class Lazy {
  constructor(rootMargin = "400px 0px") {
    this.jobs = new Map();
    this.first = null;
    this.firstDone = null;
    this.ahead = false;
    this.observer = new IntersectionObserver((entries) => this.onEntries(entries), { rootMargin });
    window.addEventListener("beforeprint", () => this.renderAll());
  }

  /** Call render() once: when element comes near the viewport, or in idle time after the first screen. */
  observe(element, render) {
    this.jobs.set(element, render);
    this.observer.observe(element);
  }

  unobserve(element) {
    this.jobs.delete(element);
    this.observer.unobserve(element);
  }

  run(element) {
    const render = this.jobs.get(element);
    if (!render) return Promise.resolve();
    this.unobserve(element);
    return Promise.resolve().then(render).catch((e) => console.error(e));
  }

  onEntries(entries) {
    const started = [];
    for (const entry of entries) if (entry.isIntersecting) started.push(this.run(entry.target));
    // The first callback reports every observed element: what it starts is the first screen.
    if (this.firstDone) {
      const done = this.firstDone;
      this.firstDone = null;
      Promise.allSettled(started).then(() => { done(); this.renderAhead(); });
    }
  }

  /** Render the panels not yet drawn, one at a time when the page is idle, in page order. */
  renderAhead() {
    if (this.ahead) return;
    this.ahead = true;
    const step = () => {
      // Hidden panels (filtered out, collapsed group) wait: a chart drawn at zero width is wrong.
      const next = [...this.jobs.keys()].find((element) => element.isConnected && element.offsetParent !== null);
      if (!next) { this.ahead = false; return; }
      this.run(next).finally(() => idle(step));
    };
    idle(step);
  }

  /** Everything at once (before printing). */
  renderAll() {
    return Promise.allSettled([...this.jobs.keys()].map((element) => this.run(element)));
  }

  /** Resolves when the panels visible at first have rendered. */
  firstScreen() {
    if (!this.first) {
      this.first = new Promise((resolve) => {
        if (!this.jobs.size) resolve();
        else this.firstDone = resolve;
      });
    }
    return this.first;
  }
}
