import type { ListSort } from './list-options';
import type { PresenceFields } from './presence-view';

/**
 * The first `limit` matching records of a live set, in one order, kept live:
 * the state of one windowed `list.connectedUsers` subscription. Pure: it is
 * told what happened to the set and answers with the operations a subscriber
 * needs (`added` / `changed` / `removed`); it does no I/O.
 *
 * Invariant: the window holds exactly the first min(limit, matches) matching
 * records by `connectedAt` then `_id` (`'newest'` is the reverse of
 * `'oldest'`). So while the window is not full every match is in it, and
 * while it is full every match outside ranks after its last entry.
 *
 * Cost (why it exists: a monitor's window must cost O(limit), not O(n)):
 * - memory: a sorted array and a map of at most `limit` entries;
 * - a record entering or changing: O(log limit) to find its place and
 *   O(limit) to splice it in; a record outside the window that does not
 *   match, or ranks after a full window, costs one comparison;
 * - a record **inside** a full window leaving (or ceasing to match): one scan
 *   of the whole set, O(n), to find the next match (the set keeps no index by
 *   rank, and building one per window would cost O(n) memory per monitor).
 *   Under uniform churn this happens for a fraction limit/n of the removals.
 * - `fill`: O(n log limit) time and O(limit) memory for the initial contents.
 *
 * Example:
 *   const window = new LiveWindow({ limit: 50, sort: 'newest', matches });
 *   window.fill(view.entries());            // initial contents, no operations
 *   const ops = window.added(id, fields);   // e.g. [{type:'added',…},{type:'removed',…}]
 *
 * Caveats: `added` must not be called for an id already in the set, and
 * `changed` / `removed` must be called after the set itself changed (the
 * `scan` passed to them must already reflect the change). Fields objects are
 * kept by reference and never mutated.
 */
export type WindowOperation =
  | { type: 'added'; id: string; fields: PresenceFields }
  | { type: 'changed'; id: string; fields: PresenceFields }
  | { type: 'removed'; id: string };

/** Every record of the set now, for the refill scan: `(visit) => set.forEach(visit)`. */
export type RecordScan = (visit: (id: string, fields: PresenceFields) => void) => void;

export interface LiveWindowOptions {
  limit: number;
  sort: ListSort;
  matches(id: string, fields: PresenceFields): boolean;
}

interface Entry {
  id: string;
  /** `connectedAt` in ms (0 when missing), the primary sort key. */
  at: number;
  fields: PresenceFields;
}

export class LiveWindow {
  /** In window order, best first; at most `limit` long. */
  private readonly ordered: Entry[] = [];
  private readonly byId = new Map<string, Entry>();
  private readonly direction: 1 | -1;

  constructor(private readonly options: LiveWindowOptions) {
    this.direction = options.sort === 'oldest' ? 1 : -1;
  }

  get size(): number {
    return this.ordered.length;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The window's records, best first. */
  entries(): Array<[string, PresenceFields]> {
    return this.ordered.map((e) => [e.id, e.fields]);
  }

  /**
   * Initial contents from a scan of the set, producing no operations. Keeps at
   * most 2×limit candidates at a time (sorting and truncating when that many
   * gather), so memory stays O(limit) whatever the set's size.
   */
  fill(scan: RecordScan): void {
    if (this.ordered.length > 0) throw new Error('LiveWindow.fill on a window that is not empty');
    const { limit, matches } = this.options;
    let candidates: Entry[] = [];
    const trim = () => {
      candidates.sort((a, b) => this.compare(a, b));
      if (candidates.length > limit) candidates = candidates.slice(0, limit);
    };
    scan((id, fields) => {
      if (!matches(id, fields)) return;
      candidates.push(entryOf(id, fields));
      if (candidates.length >= 2 * limit) trim();
    });
    trim();
    for (const entry of candidates) this.insertAt(this.ordered.length, entry);
  }

  /** A record joined the set. */
  added(id: string, fields: PresenceFields): WindowOperation[] {
    if (this.byId.has(id) || !this.options.matches(id, fields)) return [];
    return this.offer(entryOf(id, fields));
  }

  /** A record left the set; `scan` finds the next match if it was in a full window. */
  removed(id: string, scan: RecordScan): WindowOperation[] {
    const entry = this.byId.get(id);
    if (!entry) return [];
    const wasFull = this.ordered.length === this.options.limit;
    this.remove(entry);
    const ops: WindowOperation[] = [{ type: 'removed', id }];
    if (wasFull) ops.push(...this.refill(scan));
    return ops;
  }

  /**
   * A record changed: `fields` is its whole new record (without `_id`),
   * `changes` what changed (undefined: removed field), as the set reports it.
   */
  changed(id: string, fields: PresenceFields, changes: PresenceFields, scan: RecordScan): WindowOperation[] {
    const before = this.byId.get(id);
    if (!before) return this.added(id, fields);
    if (!this.options.matches(id, fields)) return this.removed(id, scan);
    const after = entryOf(id, fields);
    if (after.at === before.at) {
      before.fields = fields; // same place: only the fields change
      return [{ type: 'changed', id, fields: changes }];
    }
    // Its rank moved: take it out, then let it compete with the best outside for the freed place.
    const wasFull = this.ordered.length === this.options.limit;
    this.remove(before);
    const ops = wasFull ? this.refill(scan) : this.offer(after);
    return ops.flatMap((op): WindowOperation[] => {
      if (op.id !== id) return [op];
      return op.type === 'added' ? [{ type: 'changed', id, fields: changes }] : [];
    }).concat(this.byId.has(id) ? [] : [{ type: 'removed', id }]);
  }

  /** Offer a matching record not in the window: it enters if it ranks within the limit. */
  private offer(entry: Entry): WindowOperation[] {
    const { limit } = this.options;
    const full = this.ordered.length >= limit;
    if (full && this.compare(entry, this.ordered[this.ordered.length - 1]!) >= 0) return [];
    const ops: WindowOperation[] = [];
    if (full) {
      const evicted = this.ordered[this.ordered.length - 1]!;
      this.remove(evicted);
      ops.push({ type: 'removed', id: evicted.id });
    }
    this.insertAt(this.placeOf(entry), entry);
    ops.unshift({ type: 'added', id: entry.id, fields: entry.fields });
    return ops;
  }

  /** After a place freed up in a full window: the best match outside it, if any, enters (one O(n) scan). */
  private refill(scan: RecordScan): WindowOperation[] {
    let best: Entry | null = null;
    scan((id, fields) => {
      if (this.byId.has(id) || !this.options.matches(id, fields)) return;
      const candidate = entryOf(id, fields);
      if (!best || this.compare(candidate, best) < 0) best = candidate;
    });
    if (!best) return [];
    const entry: Entry = best;
    this.insertAt(this.placeOf(entry), entry);
    return [{ type: 'added', id: entry.id, fields: entry.fields }];
  }

  /** Binary search: the index where `entry` belongs. */
  private placeOf(entry: Entry): number {
    let low = 0;
    let high = this.ordered.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.compare(this.ordered[mid]!, entry) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private insertAt(index: number, entry: Entry): void {
    this.ordered.splice(index, 0, entry);
    this.byId.set(entry.id, entry);
  }

  private remove(entry: Entry): void {
    this.ordered.splice(this.placeOf(entry), 1);
    this.byId.delete(entry.id);
  }

  private compare(a: Entry, b: Entry): number {
    const order = a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return order * this.direction;
  }
}

function entryOf(id: string, fields: PresenceFields): Entry {
  const at = fields.connectedAt;
  const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : 0;
  return { id, at: Number.isFinite(ms) ? ms : 0, fields };
}
