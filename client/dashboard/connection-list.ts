import type { ConnectionRecord, DocumentEvents } from './presence-source';

/**
 * The dashboard's copy of the `list.connectedUsers` window, in display order.
 *
 * Why a class of its own: it is the one piece of dashboard state the DOM is
 * rendered from (never read back from the DOM), and it is plain data, so it
 * is unit-tested in Node. A changed record is a new object, so the renderer
 * can tell by identity which rows need their cells rewritten.
 *
 * Order: by `connectedAt`, ties by `_id`; `'newest'` is exactly the reverse
 * of `'oldest'` (the server's window uses the same order). Sorting happens
 * lazily, only when membership or a `connectedAt` changed; the window holds
 * at most 1,000 records, so a sort costs well under a millisecond.
 *
 * Example:
 *   const list = new ConnectionList(() => scheduleRender());
 *   source.start({ connections: list, ... });
 *   list.ordered(); // ConnectionRecord[], newest first
 */
export class ConnectionList implements DocumentEvents {
  private readonly records = new Map<string, ConnectionRecord>();
  private order: ConnectionRecord[] | null = [];
  private sort: 'newest' | 'oldest' = 'newest';

  constructor(private readonly onChange: () => void = () => {}) {}

  get size(): number {
    return this.records.size;
  }

  get(id: string): ConnectionRecord | undefined {
    return this.records.get(id);
  }

  added(id: string, fields: Record<string, unknown>): void {
    this.records.set(id, { ...fields, _id: id } as ConnectionRecord);
    this.order = null;
    this.onChange();
  }

  changed(id: string, fields: Record<string, unknown>, cleared: string[]): void {
    const current = this.records.get(id);
    if (!current) return; // a late frame for a document a new query already dropped
    const next = { ...current, ...fields, _id: id } as ConnectionRecord & Record<string, unknown>;
    for (const key of cleared) delete next[key];
    this.records.set(id, next);
    // Same order unless the sort key moved; the cached order must still hold the new object.
    if (this.order && !('connectedAt' in fields) && !cleared.includes('connectedAt')) {
      const at = this.order.indexOf(current);
      if (at >= 0) this.order[at] = next;
    } else this.order = null;
    this.onChange();
  }

  removed(id: string): void {
    if (!this.records.delete(id)) return;
    this.order = null;
    this.onChange();
  }

  clear(): void {
    this.records.clear();
    this.order = [];
    this.onChange();
  }

  setSort(sort: 'newest' | 'oldest'): void {
    if (sort === this.sort) return;
    this.sort = sort;
    this.order = null;
    this.onChange();
  }

  ordered(): readonly ConnectionRecord[] {
    if (!this.order) {
      const sign = this.sort === 'newest' ? -1 : 1;
      this.order = [...this.records.values()].sort((a, b) => sign * compareOldestFirst(a, b));
    }
    return this.order;
  }
}

function compareOldestFirst(a: ConnectionRecord, b: ConnectionRecord): number {
  const byTime = (a.connectedAt?.getTime() ?? 0) - (b.connectedAt?.getTime() ?? 0);
  if (byTime !== 0) return byTime;
  return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
}
