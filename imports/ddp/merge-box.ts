import { ejsonClone, ejsonEquals } from '../common/ejson-values';

/**
 * A session's merge box: what the client has been sent, per collection and
 * document, with Meteor's semantics (livedata_server.js SessionCollectionView).
 *
 * Why: two subscriptions may publish the same document. The client must get it
 * once; a field's visible value is the one of the first subscription that set
 * it; removing the document from one subscription only sends `removed` when no
 * other still has it, else a `changed` for the fields only it provided.
 */
export type Fields = Record<string, unknown>;

/** Where the merge box sends what the client must hear (the session, in practice). */
export interface MergeBoxOutput {
  sendAdded(collection: string, id: string, fields: Fields): void;
  sendChanged(collection: string, id: string, fields: Fields): void;
  sendRemoved(collection: string, id: string): void;
}

interface Provided {
  handle: string;
  value: unknown;
}

/**
 * A field's providers in precedence order; the first one is what the client
 * sees. One provider (the common case) is kept as a plain object; several
 * as an insertion-ordered Map, so a subscription finds its own entry in O(1)
 * even when hundreds of subscriptions provide the same field (otherwise a
 * count pushed to N subscriptions of one session costs O(N²)).
 */
type Providers = Provided | Map<string, unknown>;

function firstOf(providers: Map<string, unknown>): Provided {
  const [handle, value] = providers.entries().next().value as [string, unknown];
  return { handle, value };
}

class DocumentView {
  readonly existsIn = new Set<string>();
  readonly dataByKey = new Map<string, Providers>();

  /** What the client sees of this document (Meteor's getFields): each field's leading value. */
  visibleFields(): Fields {
    const fields: Fields = {};
    for (const [key, providers] of this.dataByKey) fields[key] = providers instanceof Map ? firstOf(providers).value : providers.value;
    return fields;
  }

  clearField(handle: string, key: string, collector: Fields): void {
    const providers = this.dataByKey.get(key);
    if (!providers) return;
    if (!(providers instanceof Map)) {
      if (providers.handle !== handle) return;
      this.dataByKey.delete(key);
      collector[key] = undefined;
      return;
    }
    if (!providers.has(handle)) return;
    const visible = firstOf(providers);
    providers.delete(handle);
    if (providers.size === 0) {
      this.dataByKey.delete(key);
      collector[key] = undefined;
    } else if (visible.handle === handle) {
      const next = firstOf(providers);
      if (!ejsonEquals(visible.value, next.value)) collector[key] = next.value;
    }
  }

  changeField(handle: string, key: string, value: unknown, collector: Fields): void {
    if (key === '_id') return;
    const copy = ejsonClone(value);
    const providers = this.dataByKey.get(key);
    if (!providers) {
      this.dataByKey.set(key, { handle, value: copy });
      collector[key] = copy;
      return;
    }
    if (!(providers instanceof Map)) {
      if (providers.handle === handle) {
        if (!ejsonEquals(copy, providers.value)) collector[key] = copy;
        providers.value = copy;
      } else {
        this.dataByKey.set(key, new Map([[providers.handle, providers.value], [handle, copy]]));
      }
      return;
    }
    if (providers.has(handle)) {
      if (firstOf(providers).handle === handle && !ejsonEquals(copy, providers.get(handle))) collector[key] = copy;
      providers.set(handle, copy);
    } else {
      providers.set(handle, copy);
    }
  }
}

const NO_COLLECTIONS: ReadonlyMap<string, Map<string, DocumentView>> = new Map();

/** Meteor's diffDocument (DiffSequence.diffObjects): a `changed` with only what differs, if anything does. */
function sendFieldDiff(collection: string, id: string, before: Fields, after: Fields, out: MergeBoxOutput): void {
  const fields: Fields = {};
  for (const [key, value] of Object.entries(before)) {
    if (!Object.hasOwn(after, key)) fields[key] = undefined;
    else if (!ejsonEquals(value, after[key])) fields[key] = after[key];
  }
  for (const [key, value] of Object.entries(after)) if (!Object.hasOwn(before, key)) fields[key] = value;
  if (Object.keys(fields).length) out.sendChanged(collection, id, fields);
}

export class MergeBox {
  private readonly collections = new Map<string, Map<string, DocumentView>>();

  constructor(private readonly out: MergeBoxOutput) {}

  added(handle: string, collection: string, id: string, fields: Fields): void {
    let docs = this.collections.get(collection);
    if (!docs) this.collections.set(collection, (docs = new Map()));
    let view = docs.get(id);
    const isNew = !view;
    if (!view) docs.set(id, (view = new DocumentView()));
    view.existsIn.add(handle);
    const collector: Fields = {};
    for (const [key, value] of Object.entries(fields)) view.changeField(handle, key, value, collector);
    if (isNew) this.out.sendAdded(collection, id, collector);
    else this.emitChanged(collection, id, collector);
  }

  changed(handle: string, collection: string, id: string, fields: Fields): void {
    const view = this.collections.get(collection)?.get(id);
    if (!view) throw new Error(`Could not find element with id ${id} to change`);
    const collector: Fields = {};
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) view.clearField(handle, key, collector);
      else view.changeField(handle, key, value, collector);
    }
    this.emitChanged(collection, id, collector);
  }

  removed(handle: string, collection: string, id: string): void {
    const docs = this.collections.get(collection);
    const view = docs?.get(id);
    if (!docs || !view) throw new Error(`Removed nonexistent document ${id}`);
    view.existsIn.delete(handle);
    if (view.existsIn.size === 0) {
      docs.delete(id);
      if (docs.size === 0) this.collections.delete(collection);
      this.out.sendRemoved(collection, id);
      return;
    }
    const collector: Fields = {};
    for (const key of [...view.dataByKey.keys()]) view.clearField(handle, key, collector);
    this.emitChanged(collection, id, collector);
  }

  /**
   * Send `out` what turns the client's view `before` into `after`: Meteor's
   * _diffCollectionViews, used once a userId change has rerun the
   * subscriptions into a fresh box. Meteor's order: per collection of
   * `before`, `changed` (only differing fields; a gone field as undefined,
   * i.e. `cleared`) or `removed` in its order, then that collection's new
   * documents; then collections only `after` has. Either box may be null
   * (never allocated: nothing published).
   */
  static sendDiff(before: MergeBox | null, after: MergeBox | null, out: MergeBoxOutput): void {
    const previous = before?.collections ?? NO_COLLECTIONS;
    const now = after?.collections ?? NO_COLLECTIONS;
    for (const [collection, oldDocs] of previous) {
      const newDocs = now.get(collection);
      for (const [id, oldView] of oldDocs) {
        const newView = newDocs?.get(id);
        if (newView) sendFieldDiff(collection, id, oldView.visibleFields(), newView.visibleFields(), out);
        else out.sendRemoved(collection, id);
      }
      if (newDocs) for (const [id, view] of newDocs) if (!oldDocs.has(id)) out.sendAdded(collection, id, view.visibleFields());
    }
    for (const [collection, newDocs] of now) {
      if (!previous.has(collection)) for (const [id, view] of newDocs) out.sendAdded(collection, id, view.visibleFields());
    }
  }

  private emitChanged(collection: string, id: string, fields: Fields): void {
    if (Object.keys(fields).length) this.out.sendChanged(collection, id, fields);
  }
}
