import type { PeopleList } from './people-list';
import type { PersonRecord } from './presence-source';
import { relativeTime } from './relative-time';
import { statusBadge } from './status-badge';
import { setText, VirtualRows, type RowView, type VirtualRowsOptions } from './virtual-rows';

/**
 * The people view: one row per online person (PeopleList), virtualized like
 * the connections table (virtual-rows.ts), since a fleet can have thousands
 * of people online. Each row: the account id, a status badge ("online" /
 * "idle", as text), the connection count, since and last activity (relative,
 * the exact time in the title). Around the rows: a summary line ("3 people
 * online, 1 idle"), the count on the view's tab, the empty note, and the
 * sort select.
 *
 * The account id is a real button ("Show connections of …"), so keyboard
 * and screen-reader users reach it; a click anywhere on the row does the
 * same for the mouse. Both call `onSelect(accountId)`.
 *
 * Test hooks: data-testid="person-row" with data-account-id;
 * "person-status" (the badge), "person-connections" (the count cell);
 * cells carry data-label (Account, Status, Connections, Since, Last activity).
 */
export interface PeopleTableOptions extends VirtualRowsOptions {
  onSelect?(accountId: string): void;
}

export interface PeopleTableElements {
  scroller: HTMLElement;
  body: HTMLTableSectionElement;
  summary: HTMLElement;
  /** The count on the People tab. */
  count: HTMLElement;
  empty: HTMLElement;
  sort: HTMLSelectElement;
}

interface PersonRow extends RowView<PersonRecord> {
  sinceCell: HTMLTableCellElement;
  activityCell: HTMLTableCellElement;
}

const LABELS = ['Account', 'Status', 'Connections', 'Since', 'Last activity'] as const;

export class PeopleTable {
  private readonly rows: VirtualRows<PersonRecord, PersonRow>;

  constructor(
    private readonly elements: PeopleTableElements,
    private readonly people: PeopleList,
    requestRender: () => void,
    options: PeopleTableOptions = {},
  ) {
    this.rows = new VirtualRows(elements.scroller, elements.body, requestRender, { create: createRow, fill: fillRow }, options);
    elements.sort.addEventListener('change', () => people.setSort(elements.sort.value === 'since' ? 'since' : 'status'));
    elements.body.addEventListener('click', (event) => {
      const tr = (event.target as Element | null)?.closest?.('tr[data-account-id]') as HTMLTableRowElement | null;
      const accountId = tr?.dataset.accountId;
      if (accountId !== undefined && this.people.get(accountId)) options.onSelect?.(accountId);
    });
  }

  /** While another view is shown, only the counts are drawn (virtual-rows.ts). */
  setVisible(visible: boolean): void {
    this.rows.setVisible(visible);
  }

  /** Called once per animation frame at most: the counts (on the tab too) always, the rows while shown. */
  render(now = Date.now()): void {
    this.renderCounts();
    this.rows.render(this.people.ordered(), now);
  }

  private renderCounts(): void {
    const { size, idleCount } = this.people;
    setText(this.elements.count, size > 0 ? `(${size.toLocaleString('en-US')})` : '');
    setText(this.elements.summary, size > 0 ? `${size.toLocaleString('en-US')} ${size === 1 ? 'person' : 'people'} online, ${idleCount.toLocaleString('en-US')} idle.` : '');
    this.elements.empty.hidden = size > 0;
  }

  refreshTimes(now = Date.now()): void {
    for (const view of this.rows.views()) {
      setText(view.sinceCell, timeText(view.record?.since, now));
      setText(view.activityCell, timeText(view.record?.lastActivity, now));
    }
  }
}

function createRow(accountId: string): PersonRow {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'person-row';
  tr.dataset.accountId = accountId;
  for (const label of LABELS) {
    const td = document.createElement('td');
    td.dataset.label = label;
    tr.append(td);
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'link';
  button.textContent = accountId;
  button.setAttribute('aria-label', `Show connections of ${accountId}`);
  button.title = `Show the connections of ${accountId}`;
  tr.cells[0]!.append(button);
  tr.cells[2]!.dataset.testid = 'person-connections';
  return { tr, record: null, sinceCell: tr.cells[3]!, activityCell: tr.cells[4]! };
}

function fillRow(view: PersonRow, record: PersonRecord, now: number): void {
  const previous = view.record;
  if (previous === record) return;
  view.record = record;
  const [, status, connections] = view.tr.cells as unknown as HTMLTableCellElement[];
  const state = record.status ?? 'online';
  view.tr.dataset.status = state;
  if (previous?.status !== record.status || !previous) status!.replaceChildren(statusBadge(state, 'person-status'));
  setText(connections!, typeof record.connections === 'number' ? record.connections.toLocaleString('en-US') : '–');
  setText(view.sinceCell, timeText(record.since, now));
  view.sinceCell.title = isoOf(record.since);
  setText(view.activityCell, timeText(record.lastActivity, now));
  view.activityCell.title = isoOf(record.lastActivity);
}

const timeText = (at: unknown, now: number) => (at instanceof Date ? relativeTime(at, now) : '–');
const isoOf = (at: unknown) => (at instanceof Date ? at.toISOString() : '');
