// Rendering panels only when they come near the viewport: a page of 200 logs draws the dozen
// that are visible, and the rest as the user scrolls.

export class Lazy {
  constructor(rootMargin = "400px 0px") {
    this.jobs = new Map();
    this.first = null;
    this.firstDone = null;
    this.observer = new IntersectionObserver((entries) => this.onEntries(entries), { rootMargin });
  }

  /** Call render() once, when element comes within rootMargin of the viewport. */
  observe(element, render) {
    this.jobs.set(element, render);
    this.observer.observe(element);
  }

  unobserve(element) {
    this.jobs.delete(element);
    this.observer.unobserve(element);
  }

  onEntries(entries) {
    const started = [];
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const render = this.jobs.get(entry.target);
      if (!render) continue;
      this.unobserve(entry.target);
      started.push(Promise.resolve().then(render).catch((e) => console.error(e)));
    }
    // The first callback reports every observed element: what it starts is the first screen.
    if (this.firstDone) {
      const done = this.firstDone;
      this.firstDone = null;
      Promise.allSettled(started).then(() => done());
    }
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
