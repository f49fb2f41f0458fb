import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectedUser } from '../../imports/app/host';
import type { FindOptions, LiveCursor, Selector, StoreCollection } from '../../imports/store/collection';
import { MemoryCollection } from '../../imports/store/memory-collection';
import { liveRecords, RawDdpClient } from '../helpers/raw-ddp-client';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { describeLogs, matching } from '../helpers/capture-logger';

/**
 * Issue 10, repro 9: two app instances on one store that refuses a duplicate
 * `_id`, as MongoDB's unique `_id` index does (MemoryCollection throws
 * `E11000 duplicate key` then; the first test checks that premise). Each
 * instance must write only its own records, and the monitors on both must
 * see both instances' connections with no write error logged. Without MQTT
 * they see each other through the shared store; the MQTT-joined variant
 * lives with the bridge's suites.
 */

/** One instance's handle on the shared store, keeping every write it makes (and passing it through). */
class RecordingCollection implements StoreCollection<ConnectedUser> {
  readonly inserts: ConnectedUser[] = [];
  readonly updates: Selector[] = [];
  readonly removes: Selector[] = [];

  constructor(private readonly shared: MemoryCollection<ConnectedUser>) {}

  get name(): string {
    return this.shared.name;
  }

  insertAsync(doc: ConnectedUser): Promise<string> {
    this.inserts.push(doc);
    return this.shared.insertAsync(doc);
  }

  updateAsync(selector: Selector, modifier: Record<string, unknown>): Promise<number> {
    this.updates.push(selector);
    return this.shared.updateAsync(selector, modifier);
  }

  removeAsync(selector: Selector): Promise<number> {
    this.removes.push(selector);
    return this.shared.removeAsync(selector);
  }

  find(selector?: Selector, options?: FindOptions): LiveCursor<ConnectedUser> {
    return this.shared.find(selector, options);
  }

  findOneAsync(selector?: Selector, options?: FindOptions): Promise<ConnectedUser | undefined> {
    return this.shared.findOneAsync(selector, options);
  }
}


function lastCount(client: RawDdpClient): number | undefined {
  const frames = client.frames.filter((f) => f.collection === 'connectedUsers.count');
  return (frames.at(-1)?.fields as { count?: number } | undefined)?.count;
}

/** A failed record write logs an error (its cause, e.g. E11000 duplicate key, in the context); a collision is the view's warning. */
const writeProblems = (app: AppTestServer) => [...matching(app.logs, { level: 'error' }), ...matching(app.logs, { message: 'claim one session id' })];

describe('two instances sharing one store that refuses duplicate ids (issue 10, repro 9)', () => {
  const shared = new MemoryCollection<ConnectedUser>('connectedUsers');
  const writes = { 'inst-A': new RecordingCollection(shared), 'inst-B': new RecordingCollection(shared) };
  let a: AppTestServer;
  let b: AppTestServer;
  const monitors: Record<string, RawDdpClient> = {};
  const sessionsOf: Record<string, string[]> = { 'inst-A': [], 'inst-B': [] };

  before(async () => {
    a = await startAppForTest({ PRESENCE_INSTANCE_ID: 'inst-A' }, { collection: writes['inst-A'] });
    b = await startAppForTest({ PRESENCE_INSTANCE_ID: 'inst-B' }, { collection: writes['inst-B'] });
    for (const [instanceId, app] of [['inst-A', a], ['inst-B', b]] as const) {
      const { client, session } = await RawDdpClient.connect(app.wsUrl);
      client.send({ msg: 'sub', id: 'list', name: 'list.connectedUsers', params: [{ token: MONITOR_TOKEN }] });
      client.send({ msg: 'sub', id: 'count', name: 'list.connectedUsers.count' });
      await client.until((f) => f.msg === 'ready' && (f.subs as string[])[0] === 'count');
      monitors[instanceId] = client;
      sessionsOf[instanceId]!.push(session);
    }
  });
  after(async () => {
    for (const monitor of Object.values(monitors)) monitor.close();
    await a?.close();
    await b?.close();
  });

  test('the premise: the store refuses a second record with the same _id, as MongoDB does', async () => {
    const doc: ConnectedUser = { _id: 'premise000000001', userId: 'premise000000001', connectedAt: new Date(0), instanceId: 'x' };
    await shared.insertAsync(doc);
    await assert.rejects(shared.insertAsync({ ...doc, instanceId: 'y' }), /E11000 duplicate key/);
    await shared.removeAsync({ _id: doc._id });
  });

  test('both monitors see both instances\' connections, each written once by its own instance, and the counts agree', async () => {
    const clients = [
      ...(await Promise.all([1, 2].map(() => RawDdpClient.connect(a.wsUrl)))).map((c) => ({ ...c, instanceId: 'inst-A' })),
      ...(await Promise.all([1, 2, 3].map(() => RawDdpClient.connect(b.wsUrl)))).map((c) => ({ ...c, instanceId: 'inst-B' })),
    ];
    for (const c of clients) sessionsOf[c.instanceId]!.push(c.session);
    const expected = new Map(Object.entries(sessionsOf).flatMap(([instanceId, ids]) => ids.map((id) => [id, instanceId] as const)));
    assert.equal(expected.size, 7, '2 monitors + 2 clients on A + 3 on B');

    for (const [instanceId, monitor] of Object.entries(monitors)) {
      await waitFor(() => liveRecords(monitor).size === expected.size, 2000, `all 7 records at ${instanceId}'s monitor`);
      for (const [id, fields] of liveRecords(monitor)) assert.equal(fields.instanceId, expected.get(id), `record ${id} at ${instanceId}'s monitor`);
      await waitFor(() => lastCount(monitor) === expected.size, 2000, `count 7 at ${instanceId}'s monitor`);
    }

    for (const [instanceId, recorder] of Object.entries(writes)) {
      assert.deepEqual(recorder.inserts.map((d) => d.instanceId).filter((id) => id !== instanceId), [], `${instanceId} inserted only its own records`);
      assert.deepEqual(recorder.inserts.map((d) => d._id).sort(), [...sessionsOf[instanceId]!].sort());
      assert.deepEqual(recorder.updates, [], `${instanceId} updated nothing`);
    }

    for (const c of clients) c.client.close();
    for (const [instanceId, monitor] of Object.entries(monitors)) {
      await waitFor(() => liveRecords(monitor).size === 2, 2000, `only the two monitors left at ${instanceId}'s monitor`);
    }
    for (const [instanceId, recorder] of Object.entries(writes)) {
      const removedIds = recorder.removes.flatMap((s) => ('_id' in s ? [s._id as string] : []));
      assert.deepEqual(removedIds.filter((id) => !sessionsOf[instanceId]!.includes(id)), [], `${instanceId} removed only its own records`);
    }
  });

  test('no write error (nor collision) was logged by either instance', () => {
    for (const app of [a, b]) assert.deepEqual(writeProblems(app), [], describeLogs(app.logs));
  });
});
