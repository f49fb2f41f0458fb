import type { PersonStatus } from '../../imports/app/wire-contract';
import type { DocumentEvents, PersonRecord } from './presence-source';

/**
 * The dashboard's copy of `list.onlineUsers` (collection `onlineUsers`): one
 * record per online person, in display order. Plain data, like
 * ConnectionList: the people table renders from it, and a changed person is
 * a new object, so the renderer tells by identity which rows to rewrite.
 *
 * Orders:
 * - `'status'`: online before idle, then by account id;
 * - `'since'`: online longest first (earliest `since`), ties by account id.
 * Sorting is lazy, only after membership or the sort key changed: a
 * connection count or activity change (the common one) keeps the order.
 *
 * Why the whole set, not a window: the publication sends one small document
 * per person, not per socket (issue 14); the table virtualizes the rows.
 *
 * Example:
 *   const people = new PeopleList(() => scheduleRender());
 *   source.start({ people, ... });
 *   people.ordered(); people.idleCount;
 */
export type PeopleSort = 'status' | 'since';

export class PeopleList implements DocumentEvents {
  private readonly records = new Map<string, PersonRecord>();
  private order: PersonRecord[] | null = [];
  private sort: PeopleSort = 'status';
  private idle = 0;

  constructor(private readonly onChange: () => void = () => {}) {}

  get size(): number {
    return this.records.size;
  }

  /** People whose every connection is idle. */
  get idleCount(): number {
    return this.idle;
  }

  get sortOrder(): PeopleSort {
    return this.sort;
  }

  get(accountId: string): PersonRecord | undefined {
    return this.records.get(accountId);
  }

  added(id: string, fields: Record<string, unknown>): void {
    this.forget(this.records.get(id));
    const record = { ...fields, _id: id } as PersonRecord;
    this.records.set(id, record);
    if (isIdle(record)) this.idle++;
    this.order = null;
    this.onChange();
  }

  changed(id: string, fields: Record<string, unknown>, cleared: string[]): void {
    const current = this.records.get(id);
    if (!current) return; // a late frame after a reset or an unsubscribe
    const next = { ...current, ...fields, _id: id } as PersonRecord & Record<string, unknown>;
    for (const key of cleared) delete next[key];
    this.records.set(id, next);
    this.idle += Number(isIdle(next)) - Number(isIdle(current));
    const key = this.sort === 'status' ? 'status' : 'since';
    if (this.order && !(key in fields) && !cleared.includes(key)) {
      const at = this.order.indexOf(current);
      if (at >= 0) this.order[at] = next;
    } else this.order = null;
    this.onChange();
  }

  removed(id: string): void {
    const current = this.records.get(id);
    if (!current) return;
    this.forget(current);
    this.records.delete(id);
    this.order = null;
    this.onChange();
  }

  clear(): void {
    this.records.clear();
    this.idle = 0;
    this.order = [];
    this.onChange();
  }

  setSort(sort: PeopleSort): void {
    if (sort === this.sort) return;
    this.sort = sort;
    this.order = null;
    this.onChange();
  }

  ordered(): readonly PersonRecord[] {
    if (!this.order) this.order = [...this.records.values()].sort(this.sort === 'status' ? byStatus : bySince);
    return this.order;
  }

  private forget(record: PersonRecord | undefined): void {
    if (record && isIdle(record)) this.idle--;
  }
}

const STATUS_RANK: Record<PersonStatus, number> = { online: 0, idle: 1 };

const isIdle = (record: PersonRecord) => record.status === 'idle';

function byAccount(a: PersonRecord, b: PersonRecord): number {
  return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
}

/** An unknown status sorts last: the list keeps working with a newer server. */
function byStatus(a: PersonRecord, b: PersonRecord): number {
  const rank = (r: PersonRecord) => (r.status !== undefined ? STATUS_RANK[r.status] ?? 2 : 2);
  return rank(a) - rank(b) || byAccount(a, b);
}

function bySince(a: PersonRecord, b: PersonRecord): number {
  const time = (r: PersonRecord) => (r.since instanceof Date ? r.since.getTime() : Infinity);
  const diff = time(a) - time(b);
  return (Number.isNaN(diff) ? 0 : diff) || byAccount(a, b);
}
