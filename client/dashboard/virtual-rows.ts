import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';

/**
 * A virtualized `<tbody>`: its DOM holds only the rows in view (plus
 * `overscan`), between two spacer rows that keep the scrollbar true.
 * Virtualizing is @tanstack/virtual-core's job; this maps its visible range
 * onto table rows. The connections and the people tables both use it; each
 * says how to build and fill its own rows (RowRenderer).
 *
 * Rows are keyed by record id and never recreated while they stay in view,
 * so text in them can be selected and copied while the list churns; a
 * renderer rewrites a row's cells only when its record object changed
 * (the lists keep records immutable).
 *
 * Caveat: every row is assumed to be as tall as the first one rendered
 * (one line on wide screens, a card on narrow ones); it is measured once per
 * resize, since reading a size forces a layout. A table in a hidden panel
 * measures when it is shown.
 *
 * Hidden tables (another tab is shown): `setVisible(false)` detaches the
 * virtualizer from its scroller, whose size is then 0, and `render` does
 * nothing; `setVisible(true)` lets the next render observe it afresh, which
 * reads its size at once. Without that, the first frame after showing would
 * still see a 0-high viewport, draw no rows, and rebuild them a frame later.
 */
export interface VirtualRowsOptions {
  /** Rows rendered beyond the visible ones on each side. */
  overscan?: number;
  /** Initial row height in px; the real one is measured from the first rendered row. */
  estimatedRowHeight?: number;
}

export interface RowView<T> {
  tr: HTMLTableRowElement;
  /** What the row shows now; null until first filled. */
  record: T | null;
}

export interface RowRenderer<T, V extends RowView<T>> {
  create(id: string): V;
  /** Bring the row in line with `record`; cheap when nothing changed. */
  fill(view: V, record: T, now: number): void;
}

export class VirtualRows<T extends { _id: string }, V extends RowView<T>> {
  private readonly virtualizer: Virtualizer<HTMLElement, HTMLTableRowElement>;
  private readonly rows = new Map<string, V>();
  private readonly topSpacer: HTMLTableRowElement;
  private readonly bottomSpacer: HTMLTableRowElement;
  private rowHeight: number;
  private rowHeightKnown = false;
  private visible = true;

  constructor(
    scroller: HTMLElement,
    body: HTMLTableSectionElement,
    private readonly requestRender: () => void,
    private readonly renderer: RowRenderer<T, V>,
    options: VirtualRowsOptions = {},
  ) {
    this.rowHeight = options.estimatedRowHeight ?? 37;
    this.topSpacer = spacer();
    this.bottomSpacer = spacer();
    body.replaceChildren(this.topSpacer, this.bottomSpacer);
    this.virtualizer = new Virtualizer<HTMLElement, HTMLTableRowElement>({
      count: 0,
      getScrollElement: () => (this.visible ? scroller : null),
      estimateSize: () => this.rowHeight,
      overscan: options.overscan ?? 10,
      scrollToFn: elementScroll,
      observeElementRect,
      observeElementOffset,
      onChange: () => requestRender(),
    });
    this.virtualizer._didMount();
    // Narrow screens turn rows into cards: measure again after a resize.
    addEventListener('resize', () => {
      this.rowHeightKnown = false;
      requestRender();
    });
  }

  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    if (!visible) this.virtualizer._willUpdate(); // stops observing the scroller
  }

  /** The rows in the DOM now. */
  views(): IterableIterator<V> {
    return this.rows.values();
  }

  /** Bring the DOM in line with `order`: called once per animation frame at most; nothing while hidden. */
  render(order: readonly T[], now: number): void {
    if (!this.visible) return;
    this.virtualizer.setOptions({ ...this.virtualizer.options, count: order.length });
    this.virtualizer._willUpdate();
    const items = this.virtualizer.getVirtualItems();
    const wanted = new Set<string>();
    let cursor: ChildNode = this.topSpacer;
    for (const item of items) {
      const record = order[item.index];
      if (!record) continue;
      wanted.add(record._id);
      const view = this.rowFor(record._id);
      this.renderer.fill(view, record, now);
      if (cursor.nextSibling !== view.tr) cursor.after(view.tr);
      cursor = view.tr;
    }
    for (const [id, view] of this.rows) {
      if (wanted.has(id)) continue;
      view.tr.remove();
      this.rows.delete(id);
    }
    const first = items[0];
    const last = items.at(-1);
    this.topSpacer.style.height = `${first?.start ?? 0}px`;
    this.bottomSpacer.style.height = `${Math.max(0, this.virtualizer.getTotalSize() - (last?.end ?? 0))}px`;
    this.measureRowHeight();
  }

  private rowFor(id: string): V {
    let view = this.rows.get(id);
    if (!view) {
      view = this.renderer.create(id);
      this.rows.set(id, view);
    }
    return view;
  }

  private measureRowHeight(): void {
    if (this.rowHeightKnown) return;
    const firstRow = this.topSpacer.nextSibling;
    if (!(firstRow instanceof HTMLTableRowElement) || firstRow === this.bottomSpacer) return;
    const height = firstRow.getBoundingClientRect().height;
    if (height === 0) return; // in a hidden panel: measured once it is shown
    this.rowHeightKnown = true;
    if (Math.abs(height - this.rowHeight) > 0.5) {
      this.rowHeight = height;
      this.virtualizer.measure();
      this.requestRender();
    }
  }
}

function spacer(): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.className = 'spacer';
  tr.setAttribute('aria-hidden', 'true');
  return tr;
}

/** Assigning equal text would still replace the text node and drop a selection inside it. */
export function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}
