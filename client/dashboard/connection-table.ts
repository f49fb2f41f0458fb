import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';
import type { ConnectionList } from './connection-list';
import type { ConnectionRecord } from './presence-source';
import { relativeTime } from './relative-time';
import { describeUserAgent } from './user-agent';

/**
 * The connections table: a virtualized `<tbody>` whose DOM holds only the
 * rows in view (plus `overscan`), between two spacer rows that keep the
 * scrollbar true. Virtualizing is @tanstack/virtual-core's job; this file
 * maps its visible range onto table rows.
 *
 * Rows are keyed by session id and never recreated while they stay in view:
 * a row's cells are rewritten only when its record object changed (records
 * are immutable, see ConnectionList), and the relative time only when its
 * text changed. So a session id can be selected and copied while the list
 * churns around it.
 *
 * Test hooks: data-testid="connection-row" with data-session-id; cells carry
 * data-label (Session, Connected, Address, User agent, Instance).
 */
export interface ConnectionTableOptions {
  /** Rows rendered beyond the visible ones on each side. */
  overscan?: number;
  /** Initial row height in px; the real one is measured from the first rendered row. */
  estimatedRowHeight?: number;
  onSelect?(record: ConnectionRecord): void;
}

interface RowView {
  tr: HTMLTableRowElement;
  record: ConnectionRecord | null;
  isSelf: boolean;
  timeCell: HTMLTableCellElement;
}

export class ConnectionTable {
  private readonly virtualizer: Virtualizer<HTMLElement, HTMLTableRowElement>;
  private readonly rows = new Map<string, RowView>();
  private readonly topSpacer: HTMLTableRowElement;
  private readonly bottomSpacer: HTMLTableRowElement;
  private rowHeight: number;
  /** Measured since the last resize: reading a row's size forces a layout, so it is done once, not per frame. */
  private rowHeightKnown = false;
  private selfId: string | null = null;
  private order: readonly ConnectionRecord[] = [];

  constructor(
    private readonly scroller: HTMLElement,
    private readonly body: HTMLTableSectionElement,
    private readonly list: ConnectionList,
    private readonly requestRender: () => void,
    private readonly options: ConnectionTableOptions = {},
  ) {
    this.rowHeight = options.estimatedRowHeight ?? 37;
    this.topSpacer = spacer();
    this.bottomSpacer = spacer();
    body.replaceChildren(this.topSpacer, this.bottomSpacer);
    this.virtualizer = new Virtualizer<HTMLElement, HTMLTableRowElement>({
      count: 0,
      getScrollElement: () => scroller,
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
    body.addEventListener('click', (event) => this.selectFrom(event.target));
    body.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') this.selectFrom(event.target);
    });
  }

  setSelf(sessionId: string | null): void {
    this.selfId = sessionId;
  }

  /** Bring the DOM in line with the list: called once per animation frame at most. */
  render(now = Date.now()): void {
    this.order = this.list.ordered();
    this.virtualizer.setOptions({ ...this.virtualizer.options, count: this.order.length });
    this.virtualizer._willUpdate();
    const items = this.virtualizer.getVirtualItems();
    const wanted = new Set<string>();
    let cursor: ChildNode = this.topSpacer;
    for (const item of items) {
      const record = this.order[item.index];
      if (!record) continue;
      wanted.add(record._id);
      const view = this.rowFor(record._id);
      this.fill(view, record, now);
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

  /** Relative times move on even when no record changes: rewrite only the texts that differ. */
  refreshTimes(now = Date.now()): void {
    for (const view of this.rows.values()) setText(view.timeCell, timeText(view.record, now));
  }

  private rowFor(id: string): RowView {
    let view = this.rows.get(id);
    if (view) return view;
    const tr = document.createElement('tr');
    tr.dataset.testid = 'connection-row';
    tr.dataset.sessionId = id;
    tr.tabIndex = 0;
    for (const label of ['Session', 'Connected', 'Address', 'User agent', 'Instance']) {
      const td = document.createElement('td');
      td.dataset.label = label;
      tr.append(td);
    }
    view = { tr, record: null, isSelf: false, timeCell: tr.cells[1]! };
    this.rows.set(id, view);
    return view;
  }

  private fill(view: RowView, record: ConnectionRecord, now: number): void {
    const isSelf = record._id === this.selfId;
    if (view.record === record && view.isSelf === isSelf) return;
    const [session, connected, address, agent, instance] = view.tr.cells as unknown as HTMLTableCellElement[];
    if (view.isSelf !== isSelf || !view.record) {
      view.tr.classList.toggle('self', isSelf);
      if (isSelf) view.tr.setAttribute('aria-current', 'true');
      else view.tr.removeAttribute('aria-current');
      // One wrapper, so on narrow screens (cells are label + value grids) "(you)" stays next to the id.
      const value = document.createElement('span');
      value.append(record._id);
      if (isSelf) value.append(Object.assign(document.createElement('span'), { className: 'you', textContent: ' (you)' }));
      session!.replaceChildren(value);
    }
    view.record = record;
    view.isSelf = isSelf;
    setText(connected!, timeText(record, now));
    connected!.title = record.connectedAt instanceof Date ? record.connectedAt.toISOString() : '';
    setText(address!, record.clientAddress ?? '–');
    setText(agent!, describeUserAgent(record.userAgent));
    agent!.title = record.userAgent ?? '';
    setText(instance!, record.instanceId ?? '–');
  }

  private selectFrom(target: EventTarget | null): void {
    const tr = (target as Element | null)?.closest?.('tr[data-session-id]') as HTMLTableRowElement | null;
    const record = tr ? this.list.get(tr.dataset.sessionId!) : undefined;
    if (record) this.options.onSelect?.(record);
  }

  /** Rows are one line on wide screens and cards on narrow ones: follow the real height. */
  private measureRowHeight(): void {
    if (this.rowHeightKnown) return;
    const firstRow = this.topSpacer.nextSibling;
    if (!(firstRow instanceof HTMLTableRowElement) || firstRow === this.bottomSpacer) return;
    this.rowHeightKnown = true;
    const height = firstRow.getBoundingClientRect().height;
    if (height > 0 && Math.abs(height - this.rowHeight) > 0.5) {
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

function timeText(record: ConnectionRecord | null, now: number): string {
  return record?.connectedAt instanceof Date ? relativeTime(record.connectedAt, now) : '–';
}

/** Assigning equal text would still replace the text node and drop a selection inside it. */
function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}
