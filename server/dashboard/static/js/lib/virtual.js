// Rendering only the rows in view of a long table: a thousand runs draw the thirty on screen (and
// a few either side), and scrolling swaps them. Rows have one height, measured on the first drawn;
// the rows above and below the window are stand-ins of that height (tbody ::before / ::after, so
// that the table holds only real rows). Items can be anything renderRow turns into a <tr>: run
// rows, or the band headers of grouped rows.

export class VirtualRows {
  /**
   * @param {object} options
   * @param {HTMLElement} options.scroller the element that scrolls (holding the table)
   * @param {HTMLTableSectionElement} options.body the <tbody> to fill
   * @param {(item: any, index: number) => HTMLTableRowElement} options.renderRow
   * @param {number} [options.overscan] rows drawn beyond each edge of the view
   */
  constructor({ scroller, body, renderRow, overscan = 15 }) {
    this.scroller = scroller;
    this.body = body;
    this.renderRow = renderRow;
    this.overscan = overscan;
    this.items = [];
    this.rowHeight = 0;
    this.window = [0, 0];
    let queued = false;
    scroller.addEventListener("scroll", () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; this.render(); });
    }, { passive: true });
    window.addEventListener("resize", () => this.render());
  }

  setItems(items) {
    this.items = items;
    this.render();
  }

  /** Draw the rows in view (again: a row's contents may have changed). */
  render() {
    const n = this.items.length;
    const height = this.rowHeight || 36;
    const offset = this.body.offsetTop; // the header rows above the body
    const top = Math.max(0, this.scroller.scrollTop - offset);
    const view = this.scroller.clientHeight || window.innerHeight;
    const first = Math.min(n, Math.max(0, Math.floor(top / height) - this.overscan));
    const last = Math.min(n, Math.ceil((top + view) / height) + this.overscan);
    const rows = [];
    for (let i = first; i < last; i += 1) rows.push(this.renderRow(this.items[i], i));
    const current = this.body.children;
    const same = current.length === rows.length && rows.every((row, i) => current[i] === row);
    if (!same) {
      // Moving a focused row out and back in drops keyboard focus: put it back.
      const active = document.activeElement;
      const inside = active && this.body.contains(active);
      this.body.replaceChildren(...rows);
      if (inside && active.isConnected && document.activeElement !== active) active.focus({ preventScroll: true });
    }
    this.body.style.setProperty("--rows-above", `${first * height}px`);
    this.body.style.setProperty("--rows-below", `${(n - last) * height}px`);
    this.window = [first, last];
    if (rows.length && !this.rowHeight) {
      const measured = rows[0].getBoundingClientRect().height;
      if (measured > 0) {
        this.rowHeight = measured;
        if (Math.abs(measured - height) > 0.5) this.render();
      }
    }
  }

  /** Scroll so that item i is in view. */
  scrollToIndex(i) {
    const height = this.rowHeight || 36;
    this.scroller.scrollTop = Math.max(0, i * height - this.scroller.clientHeight / 3);
    this.render();
  }
}
