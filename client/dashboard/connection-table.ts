import type { ConnectionList } from './connection-list';
import type { ConnectionRecord } from './presence-source';
import { relativeTime } from './relative-time';
import { statusBadge } from './status-badge';
import { describeUserAgent } from './user-agent';
import { setText, VirtualRows, type RowView, type VirtualRowsOptions } from './virtual-rows';

/**
 * The connections table: the `list.connectedUsers` window as a virtualized
 * `<tbody>` (virtual-rows.ts: only the rows in view are in the DOM, and a
 * row is kept, not rebuilt, while it stays in view, so a session id can be
 * selected and copied while the list churns around it). A row's cells are
 * rewritten only when its record object changed, the relative time only
 * when its text changed.
 *
 * The Account cell shows who logged in on the connection ("anonymous"
 * otherwise) and an "idle" badge while the client reports itself idle: text,
 * so it does not rely on colour.
 *
 * Test hooks: data-testid="connection-row" with data-session-id and
 * data-account-id; cells carry data-label (Session, Account, Connected,
 * Address, User agent, Instance); the badge is data-testid="connection-idle".
 */
export interface ConnectionTableOptions extends VirtualRowsOptions {
  onSelect?(record: ConnectionRecord): void;
}

interface ConnectionRow extends RowView<ConnectionRecord> {
  isSelf: boolean;
  timeCell: HTMLTableCellElement;
}

const LABELS = ['Session', 'Account', 'Connected', 'Address', 'User agent', 'Instance'] as const;

export class ConnectionTable {
  private readonly rows: VirtualRows<ConnectionRecord, ConnectionRow>;
  private selfId: string | null = null;

  constructor(
    scroller: HTMLElement,
    body: HTMLTableSectionElement,
    private readonly list: ConnectionList,
    requestRender: () => void,
    private readonly options: ConnectionTableOptions = {},
  ) {
    this.rows = new VirtualRows(scroller, body, requestRender, { create: createRow, fill: (view, record, now) => this.fill(view, record, now) }, options);
    body.addEventListener('click', (event) => this.selectFrom(event.target));
    body.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') this.selectFrom(event.target);
    });
  }

  /** While another view is shown, the table is not drawn (virtual-rows.ts). */
  setVisible(visible: boolean): void {
    this.rows.setVisible(visible);
  }

  setSelf(sessionId: string | null): void {
    this.selfId = sessionId;
  }

  /** Bring the DOM in line with the list: called once per animation frame at most. */
  render(now = Date.now()): void {
    this.rows.render(this.list.ordered(), now);
  }

  /** Relative times move on even when no record changes: rewrite only the texts that differ. */
  refreshTimes(now = Date.now()): void {
    for (const view of this.rows.views()) setText(view.timeCell, timeText(view.record, now));
  }

  private fill(view: ConnectionRow, record: ConnectionRecord, now: number): void {
    const isSelf = record._id === this.selfId;
    if (view.record === record && view.isSelf === isSelf) return;
    const [session, account, connected, address, agent, instance] = view.tr.cells as unknown as HTMLTableCellElement[];
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
    if (view.record?.accountId !== record.accountId || view.record?.idle !== record.idle || !view.record) fillAccount(view.tr, account!, record);
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
}

function createRow(id: string): ConnectionRow {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'connection-row';
  tr.dataset.sessionId = id;
  tr.tabIndex = 0;
  for (const label of LABELS) {
    const td = document.createElement('td');
    td.dataset.label = label;
    tr.append(td);
  }
  return { tr, record: null, isSelf: false, timeCell: tr.cells[2]! };
}

function fillAccount(tr: HTMLTableRowElement, cell: HTMLTableCellElement, record: ConnectionRecord): void {
  if (record.accountId) tr.dataset.accountId = record.accountId;
  else delete tr.dataset.accountId;
  const value = document.createElement('span');
  value.append(record.accountId ?? Object.assign(document.createElement('span'), { className: 'anonymous', textContent: 'anonymous' }));
  if (record.idle) value.append(' ', statusBadge('idle', 'connection-idle'));
  cell.replaceChildren(value);
  cell.title = record.accountId ?? '';
}

function timeText(record: ConnectionRecord | null, now: number): string {
  return record?.connectedAt instanceof Date ? relativeTime(record.connectedAt, now) : '–';
}
