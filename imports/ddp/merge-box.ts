import EJSON from 'ejson';

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

class DocumentView {
  readonly existsIn = new Set<string>();
  /** field -> providers in precedence order; the first one is what the client sees */
  readonly dataByKey = new Map<string, Provided[]>();

  clearField(handle: string, key: string, collector: Fields): void {
    const list = this.dataByKey.get(key);
    if (!list) return;
    const index = list.findIndex((p) => p.handle === handle);
    if (index < 0) return;
    const [removed] = list.splice(index, 1);
    if (list.length === 0) {
      this.dataByKey.delete(key);
      collector[key] = undefined;
    } else if (index === 0 && !EJSON.equals(removed!.value as never, list[0]!.value as never)) {
      collector[key] = list[0]!.value;
    }
  }

  changeField(handle: string, key: string, value: unknown, collector: Fields, isAdd: boolean): void {
    if (key === '_id') return;
    const copy = EJSON.clone(value as never);
    const list = this.dataByKey.get(key);
    if (!list) {
      this.dataByKey.set(key, [{ handle, value: copy }]);
      collector[key] = copy;
      return;
    }
    const existing = isAdd ? undefined : list.find((p) => p.handle === handle);
    if (existing) {
      if (existing === list[0] && !EJSON.equals(copy, existing.value as never)) collector[key] = copy;
      existing.value = copy;
    } else {
      list.push({ handle, value: copy });
    }
  }
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
    for (const [key, value] of Object.entries(fields)) view.changeField(handle, key, value, collector, true);
    if (isNew) this.out.sendAdded(collection, id, collector);
    else this.emitChanged(collection, id, collector);
  }

  changed(handle: string, collection: string, id: string, fields: Fields): void {
    const view = this.collections.get(collection)?.get(id);
    if (!view) throw new Error(`Could not find element with id ${id} to change`);
    const collector: Fields = {};
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) view.clearField(handle, key, collector);
      else view.changeField(handle, key, value, collector, false);
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

  get documentCount(): number {
    let n = 0;
    for (const docs of this.collections.values()) n += docs.size;
    return n;
  }

  private emitChanged(collection: string, id: string, fields: Fields): void {
    if (Object.keys(fields).length) this.out.sendChanged(collection, id, fields);
  }
}
