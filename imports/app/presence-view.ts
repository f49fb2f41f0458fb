import type { Logger } from '../log/logger';
import type { ConnectedUser, PresenceCursor } from './host';
import type { RemoteRecord, RemoteRecords } from './remote-records';

/**
 * The one presence view every reader uses (the monitors' list, the count):
 * this instance's records from its store, merged with other instances'
 * records from a RemoteRecords source (the MQTT bridge), keyed by session id.
 *
 * Why: the store holds only what this instance wrote; peers' records stay in
 * memory, so a peer can neither write to our collection nor collide with
 * another instance's insert in a shared MongoDB (issue 10, repro 9).
 *
 * Sources:
 * - with a RemoteRecords source, the view takes from the store only records
 *   whose `instanceId` is this instance's, and everything else from the source
 *   (in a shared MongoDB the store also holds the other instances' own
 *   records; the source is the authority on those, so a crashed instance's
 *   leftovers in the database do not show);
 * - without one, the whole store is the view: one instance, or several
 *   sharing one store and no bridge, which is how they see each other.
 *
 * Collisions: two claims on one session id (a forgery or a bug; real session
 * ids are random) show one record. This instance's own record always wins;
 * among remote ones the first to arrive wins. The others are kept hidden,
 * counted in `collisions` and logged (a warning for the first, debug after).
 * A claim is removed only by its owner, so a removal by the wrong instance
 * never removes the visible record. When the visible claim goes, the next
 * hidden one shows: it is then an ordinary record of its own instance (any
 * instance can announce records under its own id anyway), and the view stays
 * a function of what the sources hold rather than of arrival history.
 *
 * Example:
 *   const view = new PresenceView({ instanceId, log, remote: bridge.remoteRecords });
 *   await view.start(collection.find({}));
 *   view.observe({ added: (id, fields) => …, removed: (id) => … });
 *
 * Memory: it copies no record. This instance's records are the fields
 * objects the store's observer hands over (asked with Meteor's
 * `nonMutatingCallbacks`, so the store shares its own values instead of
 * cloning them); other instances' are the remote source's own record objects
 * (compact, in the bridge), and a fields object is made from one only when a
 * reader needs it: an observer's `added` or `removed` (one object for all
 * observers), `get`, `forEach`.
 *
 * Caveats: fields objects handed to observers are never mutated afterwards,
 * and observers must not mutate them either (the store's values are shared).
 * `forEach` makes a fields object per remote record it visits.
 * `stop()` detaches from the sources without telling observers anything.
 */
export type PresenceFields = Partial<Omit<ConnectedUser, '_id'>>;

export interface PresenceViewCallbacks {
  added(id: string, fields: PresenceFields): void;
  /** Changed fields only; a field set to `undefined` was removed (Meteor's observeChanges convention). */
  changed?(id: string, fields: PresenceFields): void;
  /** `fields` are the record's last fields (e.g. its instanceId), for observers that keep no copy. */
  removed(id: string, fields: PresenceFields): void;
}

export interface PresenceViewOptions {
  /** This instance: its records are the ones taken from the store when `remote` is given. */
  instanceId: string;
  log: Logger;
  /** Other instances' records. Absent: the whole store is the view. */
  remote?: RemoteRecords;
}

/**
 * One source's record for a session id, held as the source handed it over:
 * this instance's store's fields object (a local claim), or a remote source's
 * record (a remote claim: removals must come from its `instanceId`).
 */
type Claim = PresenceFields | RemoteRecord;

/** Store documents are EJSON data, which never holds a function: only a remote record has `toFields`. */
function isRemote(claim: Claim): claim is RemoteRecord {
  return typeof (claim as Partial<RemoteRecord>).toFields === 'function';
}

function fieldsOf(claim: Claim): PresenceFields {
  return isRemote(claim) ? claim.toFields() : claim;
}

export class PresenceView {
  private readonly visible = new Map<string, Claim>();
  /** Claims refused visibility, per session id, in arrival order; empty unless something collides. */
  private readonly hidden = new Map<string, Claim[]>();
  private readonly observers = new Set<PresenceViewCallbacks>();
  private readonly stops: Array<() => void> = [];
  private started = false;
  private collisionCount = 0;

  constructor(private readonly options: PresenceViewOptions) {}

  /** Records shown now. */
  get count(): number {
    return this.visible.size;
  }

  /** Claims refused visibility so far because another claim held the same session id. */
  get collisions(): number {
    return this.collisionCount;
  }

  /** Claims currently hidden behind a visible record with the same session id. */
  get hiddenCount(): number {
    let n = 0;
    for (const list of this.hidden.values()) n += list.length;
    return n;
  }

  has(sessionId: string): boolean {
    return this.visible.has(sessionId);
  }

  /** The visible record for a session id, as a fresh object. */
  get(sessionId: string): ConnectedUser | undefined {
    const claim = this.visible.get(sessionId);
    return claim ? ({ _id: sessionId, ...fieldsOf(claim) } as ConnectedUser) : undefined;
  }

  /**
   * Start following the store (`find({})` of this instance's collection) and
   * the remote source. Local first, so this instance's records are in place
   * before any remote claim on the same id arrives. Awaits the cursor's
   * observeChanges, which Meteor 3's server returns as a promise.
   */
  async start(local: PresenceCursor): Promise<void> {
    if (this.started) throw new Error('PresenceView already started');
    this.started = true;
    const { instanceId, remote } = this.options;
    const takesLocal = (fields: PresenceFields) => !remote || fields.instanceId === instanceId;
    const handle = await local.observeChanges(
      {
        added: (id, fields) => {
          if (takesLocal(fields)) this.claim(id, fields);
        },
        changed: (id, fields) => this.localChanged(id, fields),
        removed: (id) => this.release(id, (claim) => !isRemote(claim)),
      },
      // Neither the view nor its observers mutate fields (see Caveats): the store may hand over its own values.
      { nonMutatingCallbacks: true },
    );
    this.stops.push(() => (handle as { stop?(): void } | undefined)?.stop?.());
    if (remote) {
      const remoteHandle = remote.observe({
        added: (record) => this.claim(record._id, record),
        removed: (owner, sessionId) => this.release(sessionId, (claim) => isRemote(claim) && claim.instanceId === owner),
      });
      this.stops.push(() => remoteHandle.stop());
    }
  }

  /** Detach from both sources; observers keep what they were told. */
  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  /** Visit every visible record now: O(n), for the rare full scan (a window's refill); remote records' fields are made for the visit. */
  forEach(visit: (id: string, fields: PresenceFields) => void): void {
    for (const [id, claim] of this.visible) visit(id, fieldsOf(claim));
  }

  /**
   * Calls `added` for every visible record before returning (like a store's
   * observeChanges), then reports each change as it happens. `replay: false`
   * skips those initial calls, for an observer that takes the current records
   * another way (a window fills itself from one bounded scan): the replay
   * makes a fields object for every remote record (~5-10 ms and ~10 MB of
   * garbage at 50,000 of them), to be thrown away.
   */
  observe(callbacks: PresenceViewCallbacks, options: { replay?: boolean } = {}): { stop(): void } {
    if (options.replay !== false) {
      for (const [id, claim] of this.visible) this.safely(id, () => callbacks.added(id, fieldsOf(claim)));
    }
    this.observers.add(callbacks);
    return { stop: () => void this.observers.delete(callbacks) };
  }

  private claim(id: string, claim: Claim): void {
    const shown = this.visible.get(id);
    if (!shown) {
      this.visible.set(id, claim);
      if (this.observers.size > 0) {
        const fields = fieldsOf(claim); // one object for every observer
        this.emit(id, (o) => o.added(id, fields));
      }
    } else if (sameOwner(shown, claim)) {
      // The same owner again (a source replaying its record): an update, not a collision.
      this.replaceVisible(id, shown, claim);
    } else if (!isRemote(claim) && isRemote(shown)) {
      // Our own record wins over any remote claim; that claim is first in line behind it.
      this.hiddenList(id).unshift(shown);
      this.collided(id, shown, claim);
      this.replaceVisible(id, shown, claim);
    } else {
      const list = this.hiddenList(id);
      const same = list.findIndex((c) => sameOwner(c, claim));
      if (same >= 0) list[same] = claim;
      else {
        list.push(claim);
        this.collided(id, claim, shown);
      }
    }
  }

  /** Remove the claim on `id` that `isOwner` recognises; any other claim is left alone. */
  private release(id: string, isOwner: (claim: Claim) => boolean): void {
    const shown = this.visible.get(id);
    if (shown && isOwner(shown)) {
      const next = this.hidden.get(id)?.shift();
      if (this.hidden.get(id)?.length === 0) this.hidden.delete(id);
      if (next) this.replaceVisible(id, shown, next);
      else {
        this.visible.delete(id);
        if (this.observers.size > 0) {
          const fields = fieldsOf(shown);
          this.emit(id, (o) => o.removed(id, fields));
        }
      }
      return;
    }
    const list = this.hidden.get(id);
    const index = list?.findIndex(isOwner) ?? -1;
    if (index < 0) return; // nothing of that owner's on this id: a removal by the wrong instance, ignored
    list!.splice(index, 1);
    if (list!.length === 0) this.hidden.delete(id);
  }

  private localChanged(id: string, changes: PresenceFields): void {
    const shown = this.visible.get(id);
    // The app never updates a record in place; a change to a record we did not take is not ours to show.
    if (!shown || isRemote(shown)) return;
    const fields: Record<string, unknown> = { ...shown, ...changes };
    for (const key of Object.keys(changes)) if ((changes as Record<string, unknown>)[key] === undefined) delete fields[key];
    this.visible.set(id, fields as PresenceFields);
    this.emit(id, (o) => o.changed?.(id, changes));
  }

  private replaceVisible(id: string, before: Claim, after: Claim): void {
    this.visible.set(id, after);
    const afterFields = fieldsOf(after);
    const changes: Record<string, unknown> = { ...afterFields };
    for (const key of Object.keys(fieldsOf(before))) if (!(key in afterFields)) changes[key] = undefined;
    this.emit(id, (o) => o.changed?.(id, changes as PresenceFields));
  }

  private hiddenList(id: string): Claim[] {
    let list = this.hidden.get(id);
    if (!list) this.hidden.set(id, (list = []));
    return list;
  }

  private collided(id: string, refused: Claim, kept: Claim): void {
    this.collisionCount++;
    const context = { session: id, shown: this.describe(kept), hidden: this.describe(refused), collisions: this.collisionCount };
    if (this.collisionCount === 1) this.options.log.warn('Two records claim one session id: showing one (logged once; later ones at debug)', context);
    else this.options.log.debug('Two records claim one session id: showing one', context);
  }

  private describe(claim: Claim): string {
    return isRemote(claim) ? `remote ${claim.instanceId}` : `local (${claim.instanceId ?? this.options.instanceId})`;
  }

  private emit(id: string, notify: (observer: PresenceViewCallbacks) => void): void {
    for (const observer of [...this.observers]) this.safely(id, () => notify(observer));
  }

  /** One failing observer never starves the others, nor fails the source's write that called us. */
  private safely(id: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.options.log.error('Presence view observer failed', { session: id, error });
    }
  }
}

/** Two local claims, or two remote claims of one instance. */
function sameOwner(a: Claim, b: Claim): boolean {
  if (!isRemote(a) || !isRemote(b)) return !isRemote(a) && !isRemote(b);
  return a.instanceId === b.instanceId;
}
