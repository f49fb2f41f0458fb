import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConnectedUser } from '../../imports/app/host';
import { PresenceView, type PresenceFields } from '../../imports/app/presence-view';
import type { RemoteRecord, RemoteRecords, RemoteRecordsCallbacks } from '../../imports/app/remote-records';
import { MemoryCollection } from '../../imports/store/memory-collection';
import { captureLogger, describeLogs, matching } from '../helpers/capture-logger';

const OWN = 'inst-A';

const record = (sessionId: string, instanceId: string, extra: Partial<ConnectedUser> = {}): ConnectedUser => ({
  _id: sessionId, userId: sessionId, connectedAt: new Date(0), instanceId, ...extra,
});

/**
 * A test double for the bridge's RemoteRecords. This suite unit-tests the
 * view's merge logic, so the source is a plain in-memory one we can drive
 * step by step (the real one, the MQTT bridge's, is tested in tests/mqtt).
 * It lets one session id be claimed by several instances (a forgery), and
 * `emitRemoved` reports a removal whether or not it holds the record, so the
 * view's own defence against a removal by the wrong instance is what is tested.
 * Its records are held as the bridge holds them: objects that make their
 * fields on demand (the bridge's compact records are tested in tests/mqtt).
 */
class InMemoryRemoteRecords implements RemoteRecords {
  private readonly records = new Map<string, RemoteRecord>();
  private readonly observers = new Set<RemoteRecordsCallbacks>();

  add(doc: ConnectedUser): void {
    const { _id, ...fields } = doc;
    const record: RemoteRecord = { _id, instanceId: doc.instanceId, toFields: () => ({ ...fields }) };
    this.records.set(`${doc.instanceId}/${doc._id}`, record);
    for (const o of this.observers) o.added(record);
  }

  emitRemoved(instanceId: string, sessionId: string): void {
    this.records.delete(`${instanceId}/${sessionId}`);
    for (const o of this.observers) o.removed(instanceId, sessionId);
  }

  observe(callbacks: RemoteRecordsCallbacks): { stop(): void } {
    for (const record of this.records.values()) callbacks.added(record);
    this.observers.add(callbacks);
    return { stop: () => void this.observers.delete(callbacks) };
  }
}

/** What an observer rebuilt from the view's events; must always equal the view itself. */
function mirror(view: PresenceView): Map<string, PresenceFields> {
  const docs = new Map<string, PresenceFields>();
  view.observe({
    added: (id, fields) => {
      assert.ok(!docs.has(id), `added twice: ${id}`);
      docs.set(id, { ...fields });
    },
    changed: (id, fields) => {
      const doc = docs.get(id);
      assert.ok(doc, `changed before added: ${id}`);
      for (const [key, value] of Object.entries(fields)) {
        if (value === undefined) delete (doc as Record<string, unknown>)[key];
        else (doc as Record<string, unknown>)[key] = value;
      }
    },
    removed: (id) => assert.ok(docs.delete(id), `removed while absent: ${id}`),
  });
  return docs;
}

async function setUp({ remote = true } = {}) {
  const { log, logs } = captureLogger();
  const store = new MemoryCollection<ConnectedUser>('connectedUsers');
  const source = remote ? new InMemoryRemoteRecords() : undefined;
  const view = new PresenceView({ instanceId: OWN, log, remote: source });
  await view.start(store.find({}));
  return { store, source, view, logs };
}

/** Which instance's record the view shows, per session id. */
function shown(view: PresenceView, ids: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of ids) {
    const doc = view.get(id);
    if (doc) out[id] = doc.instanceId;
  }
  return out;
}

type Step =
  | ['local+', string] // this instance writes its record to its store
  | ['local-', string]
  | ['store+', string, string] // another instance writes its own record to the shared store
  | ['remote+', string, string] // (instanceId, sessionId) from the remote source
  | ['remote-', string, string];

interface Case {
  name: string;
  remote?: boolean;
  steps: Step[];
  shows: Record<string, string>;
  collisions: number;
}

const cases: Case[] = [
  {
    name: 'local and remote records merge into one view',
    steps: [['local+', 'a1'], ['remote+', 'inst-B', 'b1'], ['remote+', 'inst-C', 'c1'], ['local+', 'a2']],
    shows: { a1: OWN, a2: OWN, b1: 'inst-B', c1: 'inst-C' },
    collisions: 0,
  },
  {
    name: 'removals from either source leave the view',
    steps: [['local+', 'a1'], ['remote+', 'inst-B', 'b1'], ['local-', 'a1'], ['remote-', 'inst-B', 'b1']],
    shows: {},
    collisions: 0,
  },
  {
    name: 'a remote claim on a local session id is hidden: local wins',
    steps: [['local+', 'x'], ['remote+', 'EVIL', 'x']],
    shows: { x: OWN },
    collisions: 1,
  },
  {
    name: 'local wins even when the remote claim came first',
    steps: [['remote+', 'inst-B', 'x'], ['local+', 'x']],
    shows: { x: OWN },
    collisions: 1,
  },
  {
    name: 'first remote wins over a later remote claim',
    steps: [['remote+', 'inst-B', 'x'], ['remote+', 'EVIL', 'x']],
    shows: { x: 'inst-B' },
    collisions: 1,
  },
  {
    name: 'a removal by the wrong instance never removes the visible record',
    steps: [['local+', 'x'], ['remote-', 'EVIL', 'x'], ['remote+', 'inst-B', 'y'], ['remote-', 'EVIL', 'y'], ['remote-', 'inst-C', 'y']],
    shows: { x: OWN, y: 'inst-B' },
    collisions: 0,
  },
  {
    name: 'the hidden claim removed by its owner leaves the visible one alone',
    steps: [['remote+', 'inst-B', 'x'], ['remote+', 'EVIL', 'x'], ['remote-', 'EVIL', 'x']],
    shows: { x: 'inst-B' },
    collisions: 1,
  },
  {
    name: 'the hidden forgery removed, then the real record goes: nothing is left',
    steps: [['local+', 'x'], ['remote+', 'EVIL', 'x'], ['remote-', 'EVIL', 'x'], ['local-', 'x']],
    shows: {},
    collisions: 1,
  },
  {
    name: 'when the visible claim goes, the next one in line shows (view = what the sources hold)',
    steps: [['remote+', 'inst-B', 'x'], ['local+', 'x'], ['remote+', 'EVIL', 'x'], ['local-', 'x']],
    shows: { x: 'inst-B' },
    collisions: 2,
  },
  {
    name: 'the same owner announcing again is an update, not a collision',
    steps: [['remote+', 'inst-B', 'x'], ['remote+', 'inst-B', 'x']],
    shows: { x: 'inst-B' },
    collisions: 0,
  },
  {
    name: 'with a remote source, other instances\' records in a shared store are not taken from it',
    steps: [['store+', 'b1', 'inst-B'], ['local+', 'a1'], ['remote+', 'inst-B', 'b2'], ['store+', 'b3', 'inst-B']],
    shows: { a1: OWN, b2: 'inst-B' },
    collisions: 0,
  },
  {
    name: 'a peer\'s record present both in the shared store and the remote source shows once, without a collision',
    steps: [['store+', 'b1', 'inst-B'], ['remote+', 'inst-B', 'b1']],
    shows: { b1: 'inst-B' },
    collisions: 0,
  },
  {
    name: 'without a remote source the whole store is the view (instances sharing one store, no bridge)',
    remote: false,
    steps: [['store+', 'b1', 'inst-B'], ['local+', 'a1'], ['store+', 'c1', 'inst-C']],
    shows: { a1: OWN, b1: 'inst-B', c1: 'inst-C' },
    collisions: 0,
  },
];

describe('PresenceView: one merged view of the store and the remote records', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const { store, source, view } = await setUp({ remote: c.remote ?? true });
      const before = mirror(view);
      const ids = new Set<string>();
      for (const step of c.steps) {
        const [op] = step;
        if (op === 'local+') await store.insertAsync(record(step[1], OWN, { userAgent: 'own' }));
        if (op === 'local-') await store.removeAsync({ _id: step[1] });
        if (op === 'store+') await store.insertAsync(record(step[1], step[2]));
        if (op === 'remote+') source!.add(record(step[2], step[1], { userAgent: `from ${step[1]}` }));
        if (op === 'remote-') source!.emitRemoved(step[1], step[2]);
        ids.add(op === 'remote+' || op === 'remote-' ? step[2] : step[1]);
      }
      assert.deepEqual(shown(view, [...ids]), c.shows);
      assert.equal(view.collisions, c.collisions);
      assert.equal(view.count, Object.keys(c.shows).length);
      // Observers, whether attached before the steps or after, hold exactly what the view holds.
      for (const observed of [before, mirror(view)]) {
        assert.deepEqual(new Set(observed.keys()), new Set(Object.keys(c.shows)));
        for (const [id, fields] of observed) {
          const { _id, ...expected } = view.get(id)!;
          assert.deepEqual(fields, expected);
        }
      }
    });
  }

  test('a collision is logged once as a warning, with the session id; later ones at debug level', async () => {
    const { store, source, view, logs } = await setUp();
    await store.insertAsync(record('x', OWN));
    await store.insertAsync(record('y', OWN));
    source!.add(record('x', 'EVIL'));
    source!.add(record('y', 'EVIL'));
    assert.equal(view.collisions, 2);
    assert.equal(view.hiddenCount, 2);
    const collisions = matching(logs, { message: 'claim one session id' });
    assert.deepEqual(collisions.map((e) => [e.level, e.context?.session]), [['warn', 'x'], ['debug', 'y']], describeLogs(logs));
  });

  test('observe reports every current record before it returns, then changes as they happen', async () => {
    const { store, source, view } = await setUp();
    await store.insertAsync(record('a1', OWN));
    source!.add(record('b1', 'inst-B'));
    const events: string[] = [];
    const handle = view.observe({
      added: (id) => events.push(`added ${id}`),
      removed: (id) => events.push(`removed ${id}`),
    });
    assert.deepEqual(events.sort(), ['added a1', 'added b1'], 'initial adds are synchronous');
    source!.emitRemoved('inst-B', 'b1');
    assert.deepEqual(events.at(-1), 'removed b1', 'changes are reported synchronously with the source\'s event');
    handle.stop();
    await store.removeAsync({ _id: 'a1' });
    assert.equal(events.length, 3, 'nothing after stop()');
  });

  test('count follows both sources; a store update reaches observers as `changed`', async () => {
    const { store, source, view } = await setUp();
    assert.equal(view.count, 0);
    await store.insertAsync(record('a1', OWN));
    source!.add(record('b1', 'inst-B'));
    source!.add(record('b2', 'inst-B'));
    assert.equal(view.count, 3);
    const changes: Array<[string, PresenceFields]> = [];
    view.observe({ added() {}, changed: (id, fields) => changes.push([id, fields]), removed() {} });
    await store.updateAsync({ _id: 'a1' }, { $set: { userAgent: 'new' } });
    assert.deepEqual(changes, [['a1', { userAgent: 'new' }]]);
    assert.equal(view.get('a1')?.userAgent, 'new');
    source!.emitRemoved('inst-B', 'b1');
    await store.removeAsync({ _id: 'a1' });
    assert.equal(view.count, 1);
  });

  test('records already in the sources when the view starts are in it; the source\'s records are never written to the store', async () => {
    const { log } = captureLogger();
    const store = new MemoryCollection<ConnectedUser>('connectedUsers');
    const source = new InMemoryRemoteRecords();
    await store.insertAsync(record('a1', OWN));
    source.add(record('b1', 'inst-B'));
    const view = new PresenceView({ instanceId: OWN, log, remote: source });
    await view.start(store.find({}));
    assert.deepEqual(shown(view, ['a1', 'b1']), { a1: OWN, b1: 'inst-B' });
    assert.equal(store.size, 1);
  });

  test('a failing observer is logged and does not starve the others', async () => {
    const { store, view, logs } = await setUp();
    view.observe({ added: () => { throw new Error('boom'); }, removed() {} });
    const seen: string[] = [];
    view.observe({ added: (id) => seen.push(id), removed() {} });
    await store.insertAsync(record('a1', OWN));
    assert.deepEqual(seen, ['a1']);
    const failures = matching(logs, { level: 'error', message: 'Presence view observer failed', context: { session: 'a1' } });
    assert.equal(failures.length, 1, describeLogs(logs));
    assert.equal((failures[0]!.context?.error as Error | undefined)?.message, 'boom');
  });

  test('stop() detaches the view from both sources', async () => {
    const { store, source, view } = await setUp();
    view.stop();
    await store.insertAsync(record('a1', OWN));
    source!.add(record('b1', 'inst-B'));
    assert.equal(view.count, 0);
  });
});

describe('PresenceView: records are held as their sources hand them over, not copied', () => {
  /** A remote record that counts how often a document is made of it. */
  function countingRecord(sessionId: string, instanceId: string) {
    const made = { count: 0 };
    const record: RemoteRecord = {
      _id: sessionId,
      instanceId,
      toFields: () => {
        made.count++;
        return { userId: sessionId, connectedAt: new Date(0), instanceId };
      },
    };
    return { record, made };
  }

  function sourceOf(...records: RemoteRecord[]) {
    let callbacks: RemoteRecordsCallbacks | undefined;
    const source: RemoteRecords = {
      observe(c) {
        callbacks = c;
        for (const record of records) c.added(record);
        return { stop() {} };
      },
    };
    return { source, callbacks: () => callbacks! };
  }

  test('a remote record becomes a document only when a reader needs one, and one document serves every observer', async () => {
    const { log } = captureLogger();
    const b1 = countingRecord('b1', 'inst-B');
    const b2 = countingRecord('b2', 'inst-B');
    const { source, callbacks } = sourceOf(b1.record);
    const view = new PresenceView({ instanceId: OWN, log, remote: source });
    await view.start(new MemoryCollection<ConnectedUser>('connectedUsers').find({}));
    assert.equal(b1.made.count, 0, 'held without observers: no document made');

    const seen: Array<[string, string, PresenceFields]> = [];
    for (const name of ['first', 'second']) {
      view.observe({ added: (id, f) => void seen.push([name, id, f]), removed: (id, f) => void seen.push([name, `-${id}`, f]) });
    }
    assert.equal(b1.made.count, 2, "each observer's replay");
    callbacks().added(b2.record);
    assert.equal(b2.made.count, 1, 'one document for both observers');
    const adds = seen.filter(([, id]) => id === 'b2');
    assert.equal(adds.length, 2);
    assert.equal(adds[0]![2], adds[1]![2], 'the same object');
    callbacks().removed('inst-B', 'b2');
    assert.equal(b2.made.count, 2, 'one document for the removal, for both observers');
    assert.equal(view.get('b1')?.instanceId, 'inst-B');
    assert.equal(b1.made.count, 3);
  });

  test('observe with replay: false reports only what happens next, and makes no document for the records already there', async () => {
    const { log } = captureLogger();
    const b1 = countingRecord('b1', 'inst-B');
    const b2 = countingRecord('b2', 'inst-B');
    const { source, callbacks } = sourceOf(b1.record);
    const view = new PresenceView({ instanceId: OWN, log, remote: source });
    await view.start(new MemoryCollection<ConnectedUser>('connectedUsers').find({}));
    const events: string[] = [];
    view.observe({ added: (id) => void events.push(`+${id}`), removed: (id) => void events.push(`-${id}`) }, { replay: false });
    assert.equal(b1.made.count, 0);
    callbacks().added(b2.record);
    callbacks().removed('inst-B', 'b1');
    assert.deepEqual(events, ['+b2', '-b1']);
  });

  test("a local record's fields are the store's, shared: no copy per record", async () => {
    const { store, view } = await setUp();
    await store.insertAsync(record('a1', OWN));
    const fieldsSeen: PresenceFields[] = [];
    view.observe({ added: (_id, f) => void fieldsSeen.push(f), removed() {} });
    view.observe({ added: (_id, f) => void fieldsSeen.push(f), removed() {} });
    view.forEach((_id, f) => void fieldsSeen.push(f));
    assert.equal(fieldsSeen.length, 3);
    assert.ok(fieldsSeen.every((f) => f === fieldsSeen[0]), 'one object, held by the view');
    let fromStore: Record<string, unknown> | undefined;
    store.find({}).observeChanges({ added: (_id, f) => void (fromStore = f) }, { nonMutatingCallbacks: true }).stop();
    assert.equal(fieldsSeen[0]!.connectedAt, fromStore!.connectedAt, "the store's own Date, not a clone");
  });
});
