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
 * - memory: a sorted array and a map of at most `limit + reserve` entries;
 * - a record entering or changing: O(log) to find its place and O(limit +
 *   reserve) to splice it in; a record that does not match, or ranks after
 *   everything held, costs one comparison;
 * - a record **inside** the window leaving: the best of the reserve moves up.
 *   Only when the reserve is used up (and matches are known to be left
 *   outside) does one scan of the whole set, O(n), refill it to
 *   `limit + reserve`. The set keeps no index by rank (one per window would
 *   cost O(n) memory per monitor).
 * - `fill`: O(n log(limit + reserve)) time and O(limit + reserve) memory.
 *
 * Why the reserve: with a scan per removal, removals that all hit the window
 * cost O(n) each. A fleet whose clients all left at once had its monitor's
 * instance spend 63 of 86 s in those scans (100,000 records; bench fleet,
 * "everyone leaves"), its event loop blocked for over a minute. With a
 * reserve of R, a scan happens at most once per R such removals.
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
  /** Matches held beyond the window, next in rank (default: `max(limit, LIVE_WINDOW_DEFAULTS.minReserve)`). */
  reserve?: number;
}

export const LIVE_WINDOW_DEFAULTS = {
  /** At least this many matches are held past the window, so a burst of removals inside it rarely needs a scan. */
  minReserve: 256,
} as const;

interface Entry {
  id: string;
  /** `connectedAt` in ms (0 when missing), the primary sort key. */
  at: number;
  fields: PresenceFields;
}

export class LiveWindow {
  /** Best first: the window (the first `limit`), then the reserve; at most `capacity` long. */
  private readonly ordered: Entry[] = [];
  private readonly byId = new Map<string, Entry>();
  private readonly direction: 1 | -1;
  private readonly capacity: number;
  /** Whether matches exist that are not held (they all rank after the last held one). */
  private truncated = false;

  constructor(private readonly options: LiveWindowOptions) {
    this.direction = options.sort === 'oldest' ? 1 : -1;
    this.capacity = options.limit + (options.reserve ?? Math.max(options.limit, LIVE_WINDOW_DEFAULTS.minReserve));
  }

  /** Records in the window (not the reserve). */
  get size(): number {
    return Math.min(this.ordered.length, this.options.limit);
  }

  /** Whether `id` is in the window (not the reserve). */
  has(id: string): boolean {
    const entry = this.byId.get(id);
    return entry !== undefined && this.indexOf(entry) < this.options.limit;
  }

  /** The window's records, best first. */
  entries(): Array<[string, PresenceFields]> {
    return this.ordered.slice(0, this.options.limit).map((e) => [e.id, e.fields]);
  }

  /**
   * Initial contents from a scan of the set, producing no operations. Keeps at
   * most 2× its capacity in candidates at a time (sorting and truncating when
   * that many gather), so memory stays O(limit) whatever the set's size.
   */
  fill(scan: RecordScan): void {
    if (this.ordered.length > 0) throw new Error('LiveWindow.fill on a window that is not empty');
    this.collect(scan);
  }

  /** A record joined the set. */
  added(id: string, fields: PresenceFields): WindowOperation[] {
    if (this.byId.has(id) || !this.options.matches(id, fields)) return [];
    return this.offer(entryOf(id, fields));
  }

  /** A record left the set; `scan` refills the reserve if the window needs it. */
  removed(id: string, scan: RecordScan): WindowOperation[] {
    const entry = this.byId.get(id);
    if (!entry) return [];
    const at = this.take(entry);
    if (at >= this.options.limit) return []; // it was in the reserve: nobody saw it
    return [{ type: 'removed', id }, ...this.promote(scan)];
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
      return this.indexOf(before) < this.options.limit ? [{ type: 'changed', id, fields: changes }] : [];
    }
    // Its rank moved (rare: connectedAt does not change in practice): compare the window before and after.
    const shownBefore = new Map(this.ordered.slice(0, this.options.limit).map((e) => [e.id, e]));
    this.take(before);
    this.promote(scan, id); // the refill must not take it back at the end: it is offered at its new place
    this.offer(after);
    const shownAfter = this.ordered.slice(0, this.options.limit);
    const ops: WindowOperation[] = [];
    for (const entry of shownAfter) {
      if (!shownBefore.has(entry.id)) ops.push({ type: 'added', id: entry.id, fields: entry.fields });
      else if (entry.id === id) ops.push({ type: 'changed', id, fields: changes });
    }
    const stillShown = new Set(shownAfter.map((e) => e.id));
    for (const shown of shownBefore.keys()) if (!stillShown.has(shown)) ops.push({ type: 'removed', id: shown });
    return ops;
  }

  /** Offer a matching record not held: it is held if it ranks within the capacity, and shown if within the limit. */
  private offer(entry: Entry): WindowOperation[] {
    const { limit } = this.options;
    const last = this.ordered[this.ordered.length - 1];
    // Behind everything held: it joins the unheld matches (held ones must be the best: no gap before the unheld).
    if (last && this.compare(entry, last) > 0 && (this.truncated || this.ordered.length >= this.capacity)) {
      this.truncated = true;
      return [];
    }
    const at = this.placeOf(entry);
    this.insertAt(at, entry);
    // The window's last entry moves to the reserve (or, without a reserve, out).
    const pushedOut = at < limit ? this.ordered[limit] : undefined;
    if (this.ordered.length > this.capacity) {
      this.byId.delete(this.ordered.pop()!.id);
      this.truncated = true;
    }
    if (at >= limit) return [];
    const ops: WindowOperation[] = [{ type: 'added', id: entry.id, fields: entry.fields }];
    if (pushedOut) ops.push({ type: 'removed', id: pushedOut.id });
    return ops;
  }

  /** A place in the window freed up: the best of the reserve moves in (refilling the reserve first if it is empty). */
  private promote(scan: RecordScan, exclude?: string): WindowOperation[] {
    const { limit } = this.options;
    if (this.ordered.length < limit && this.truncated) this.collect(scan, exclude);
    const next = this.ordered[limit - 1];
    return next ? [{ type: 'added', id: next.id, fields: next.fields }] : [];
  }

  /**
   * Hold the best matches not held yet, up to the capacity: one O(n) scan.
   * Every unheld match ranks after the held ones, so they are appended
   * (`exclude`: a record being moved, which may rank anywhere).
   */
  private collect(scan: RecordScan, exclude?: string): void {
    const room = this.capacity - this.ordered.length;
    const { matches } = this.options;
    let candidates: Entry[] = [];
    let more = false;
    const trim = () => {
      candidates.sort((a, b) => this.compare(a, b));
      if (candidates.length > room) {
        candidates = candidates.slice(0, room);
        more = true;
      }
    };
    scan((id, fields) => {
      if (id === exclude || this.byId.has(id) || !matches(id, fields)) return;
      candidates.push(entryOf(id, fields));
      if (candidates.length >= 2 * room) trim();
    });
    trim();
    for (const entry of candidates) this.insertAt(this.ordered.length, entry);
    this.truncated = more;
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

  /** The index of a held entry. */
  private indexOf(entry: Entry): number {
    return this.placeOf(entry);
  }

  private insertAt(index: number, entry: Entry): void {
    this.ordered.splice(index, 0, entry);
    this.byId.set(entry.id, entry);
  }

  /** Stop holding `entry`; returns the index it had. */
  private take(entry: Entry): number {
    const at = this.placeOf(entry);
    this.ordered.splice(at, 1);
    this.byId.delete(entry.id);
    return at;
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
