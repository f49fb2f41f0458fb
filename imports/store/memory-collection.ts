import { Query, updateOne } from 'mingo';
import type { PublishContext } from '../ddp/contexts';
import { createLogger, type Logger } from '../log/logger';
import type {
  Document, FindOptions, LiveCursor, ObserveChangesCallbacks, ObserveChangesOptions, ObserveHandle, Selector, StoreCollection,
} from './collection';
import { compileProjection, type FieldFilter } from './projection';
import { isPlainObject } from '../common/is-plain-object';
import { ejsonClone, ejsonEquals } from '../common/ejson-values';

/**
 * In-memory collection with live observers; the default store.
 *
 * Selectors are matched by mingo. Observers are told of each write
 * synchronously, inside the write, so when a method's promise settles every
 * resulting frame is already queued (that is what makes `updated` honest).
 * Observers whose selector is exactly `{_id: "<string>"}` are indexed by id:
 * with one such observer per connection, a write costs O(1) instead of
 * O(connections) matches.
 *
 * A stored document is never mutated (an update stores a new one), so an
 * observer asking with `nonMutatingCallbacks` gets fields that share the
 * stored document's values (a new top-level object, no deep copy): the
 * presence view keeps those for every record, and a copy of each would double
 * what a record costs.
 */
interface Observer {
  matches(doc: Document): boolean;
  project: FieldFilter;
  callbacks: ObserveChangesCallbacks;
  /** `nonMutatingCallbacks`: the callbacks get the stored values, not copies. */
  shares: boolean;
}

export class MemoryCollection<T extends Document> implements StoreCollection<T> {
  private readonly docs = new Map<string, T>();
  private readonly observersById = new Map<string, Set<Observer>>();
  private readonly scanObservers = new Set<Observer>();

  /** `log` receives errors thrown by observers; one failing observer never fails the write or starves the others. */
  constructor(
    readonly name: string,
    private readonly log: Logger = createLogger('warn'),
  ) {}

  get size(): number {
    return this.docs.size;
  }

  async insertAsync(doc: T): Promise<string> {
    if (typeof doc._id !== 'string' || !doc._id) throw new Error('insertAsync needs a string _id');
    if (this.docs.has(doc._id)) throw new Error(`E11000 duplicate key error: _id ${doc._id} in ${this.name}`);
    const stored = cloneDocument(doc);
    this.docs.set(stored._id, stored);
    this.notify(undefined, stored);
    return stored._id;
  }

  async updateAsync(selector: Selector, modifier: Record<string, unknown>): Promise<number> {
    let count = 0;
    const topLevel = topLevelSetUnset(modifier);
    for (const before of this.matching(selector)) {
      let after: T;
      if (topLevel) after = applyTopLevel(before, topLevel);
      else {
        after = ejsonClone(before) as T;
        updateOne([after], {}, modifier as never);
      }
      after._id = before._id; // _id is immutable, as in MongoDB
      this.docs.set(before._id, after);
      this.notify(before, after);
      count++;
    }
    return count;
  }

  async removeAsync(selector: Selector): Promise<number> {
    const victims = this.matching(selector);
    for (const doc of victims) {
      this.docs.delete(doc._id);
      this.notify(doc, undefined);
    }
    return victims.length;
  }

  find(selector: Selector = {}, options: FindOptions = {}): LiveCursor<T> {
    return new MemoryCursor(this, selector, options);
  }

  async findOneAsync(selector: Selector = {}, options: FindOptions = {}): Promise<T | undefined> {
    return (await this.find(selector, options).fetchAsync())[0];
  }

  /** @internal used by MemoryCursor */
  matching(selector: Selector): T[] {
    const id = exactIdSelector(selector);
    if (id !== null) {
      const doc = this.docs.get(id);
      return doc ? [doc] : [];
    }
    const query = new Query(selector);
    return [...this.docs.values()].filter((doc) => query.test(doc));
  }

  /** @internal used by MemoryCursor */
  addObserver(selector: Selector, project: FieldFilter, callbacks: ObserveChangesCallbacks, options: ObserveChangesOptions = {}): ObserveHandle {
    const id = exactIdSelector(selector);
    const query = id === null ? new Query(selector) : null;
    const observer: Observer = {
      matches: id !== null ? (doc) => doc._id === id : (doc) => query!.test(doc),
      project,
      callbacks,
      shares: options.nonMutatingCallbacks === true,
    };
    for (const doc of this.matching(selector)) callbacks.added?.(doc._id, fieldsFor(observer, doc));
    if (id !== null) {
      let set = this.observersById.get(id);
      if (!set) this.observersById.set(id, (set = new Set()));
      set.add(observer);
    } else {
      this.scanObservers.add(observer);
    }
    return {
      stop: () => {
        if (id === null) return void this.scanObservers.delete(observer);
        const set = this.observersById.get(id);
        set?.delete(observer);
        if (set?.size === 0) this.observersById.delete(id);
      },
    };
  }

  private notify(before: T | undefined, after: T | undefined): void {
    const id = (before ?? after)!._id;
    const indexed = this.observersById.get(id);
    if (indexed) for (const observer of [...indexed]) this.notifySafely(observer, before, after);
    for (const observer of [...this.scanObservers]) this.notifySafely(observer, before, after);
  }

  private notifySafely(observer: Observer, before: T | undefined, after: T | undefined): void {
    try {
      this.notifyOne(observer, before, after);
    } catch (error) {
      this.log.error('observeChanges callback failed', { collection: this.name, id: (before ?? after)!._id, error });
    }
  }

  private notifyOne(observer: Observer, before: T | undefined, after: T | undefined): void {
    const was = before !== undefined && observer.matches(before);
    const is = after !== undefined && observer.matches(after);
    const { callbacks, project } = observer;
    if (!was && is) callbacks.added?.(after!._id, fieldsFor(observer, after!));
    else if (was && !is) callbacks.removed?.(before!._id);
    else if (was && is) {
      const changed = diffFields(project(before!), project(after!), observer.shares);
      if (Object.keys(changed).length) callbacks.changed?.(after!._id, changed);
    }
  }
}

class MemoryCursor<T extends Document> implements LiveCursor<T> {
  private readonly project: FieldFilter;

  constructor(
    private readonly collection: MemoryCollection<T>,
    private readonly selector: Selector,
    options: FindOptions,
  ) {
    this.project = compileProjection(options.fields ?? options.projection);
  }

  async fetchAsync(): Promise<T[]> {
    return this.collection
      .matching(this.selector)
      .map((doc) => ({ _id: doc._id, ...(ejsonClone(this.project(doc)) as object) }) as T);
  }

  async countAsync(): Promise<number> {
    return this.collection.matching(this.selector).length;
  }

  observeChanges(callbacks: ObserveChangesCallbacks, options?: ObserveChangesOptions): ObserveHandle {
    return this.collection.addObserver(this.selector, this.project, callbacks, options);
  }

  _getCollectionName(): string {
    return this.collection.name;
  }

  _publishCursor(sub: PublishContext): void {
    const name = this.collection.name;
    const handle = this.observeChanges({
      added: (id, fields) => sub.added(name, id, fields),
      changed: (id, fields) => sub.changed(name, id, fields),
      removed: (id) => sub.removed(name, id),
    });
    sub.onStop(() => handle.stop());
  }
}

/**
 * A deep copy that keeps the top level a compact object: EJSON.clone builds
 * it key by key from `{}`, which puts every field past the fourth in a
 * separate property store; a spread copies the source's layout in one step.
 */
function cloneDocument<T extends Document>(doc: T): T {
  const copy = { ...doc };
  for (const key in copy) {
    const value = copy[key];
    if (typeof value === 'object' && value !== null) copy[key] = ejsonClone(value);
  }
  return copy;
}

/**
 * `{$set, $unset}` of top-level fields only (no dots, no `_id`, no other
 * operator): the shape of every update the presence app makes (a login, an
 * idle change). Those are applied directly; mingo's updateOne rebuilt its
 * operator tables on each call (~170 µs of a login's ~1 ms, bench "people").
 * Anything else → null, and mingo applies it.
 */
function topLevelSetUnset(modifier: Record<string, unknown>): { set: Record<string, unknown>; unset: string[] } | null {
  const set: Record<string, unknown> = {};
  const unset: string[] = [];
  for (const operator in modifier) {
    const operand = modifier[operator];
    if ((operator !== '$set' && operator !== '$unset') || !isPlainObject(operand)) return null;
    for (const key in operand) {
      if (key === '_id' || key.includes('.') || key.startsWith('$')) return null;
      if (operator === '$set') set[key] = (operand as Record<string, unknown>)[key];
      else unset.push(key);
    }
  }
  return { set, unset };
}

/** A new document: `before`'s fields (shared: stored documents are never mutated), `set` over them (copied), `unset` dropped. */
function applyTopLevel<T extends Document>(before: T, { set, unset }: { set: Record<string, unknown>; unset: string[] }): T {
  const after: Record<string, unknown> = { ...before };
  for (const key in set) {
    const value = set[key];
    after[key] = typeof value === 'object' && value !== null ? ejsonClone(value) : value;
  }
  for (const key of unset) delete after[key];
  return after as T;
}

/** `{_id: "x"}` (and nothing else) → "x"; anything else → null. */
function exactIdSelector(selector: Selector): string | null {
  const keys = Object.keys(selector);
  return keys.length === 1 && keys[0] === '_id' && typeof selector._id === 'string' ? selector._id : null;
}

/** What an observer is handed of `doc`: its projection, copied unless the observer promised not to mutate it. */
function fieldsFor(observer: Observer, doc: Document): Record<string, unknown> {
  const fields = observer.project(doc);
  return observer.shares ? fields : (ejsonClone(fields) as Record<string, unknown>);
}

function diffFields(before: Record<string, unknown>, after: Record<string, unknown>, share: boolean): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const key of Object.keys(after)) {
    if (!(key in before) || !ejsonEquals(before[key], after[key])) {
      changed[key] = share ? after[key] : ejsonClone(after[key]);
    }
  }
  for (const key of Object.keys(before)) if (!(key in after)) changed[key] = undefined;
  return changed;
}
