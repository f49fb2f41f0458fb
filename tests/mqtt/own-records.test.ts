import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import EJSON from 'ejson';
import { validateConnectedUser } from '../../imports/app/connected-user-schema';
import type { ConnectedUser } from '../../imports/app/host';
import { defaultMqttBridgeLimits, MqttBridge } from '../../imports/mqtt/mqtt-bridge';
import type { Document } from '../../imports/store/collection';
import { MemoryCollection } from '../../imports/store/memory-collection';
import { waitFor } from '../helpers/app-test-server';
import { startAedes } from '../helpers/brokers';
import { captureLogger } from '../helpers/capture-logger';

/**
 * The bridge's own records: it keeps only their ids and reads the records
 * from the store whenever it publishes them again (after a reconnect, after
 * an update). What the broker retains must always be exactly the store's
 * records of this instance. Through aedes, in process, so the broker can be
 * restarted (losing every retained message) at a chosen moment.
 */
const OWN = 'own-1';
const PREFIX = 'own-test';

const record = (_id: string, instanceId = OWN, userAgent = 'v1'): ConnectedUser => ({
  _id, userId: _id, connectedAt: new Date(1_700_000_000_000), clientAddress: '10.0.0.1', userAgent, instanceId,
});

type AedesBroker = Awaited<ReturnType<typeof startAedes>>;

/**
 * What the broker retains under our records' topics now: session id → record.
 * Read from aedes's retained store itself, so no subscriber has to wait an
 * arbitrary while for the retained set to stream in.
 */
async function retained(broker: AedesBroker): Promise<Map<string, Document>> {
  const persistence = (broker.broker as unknown as { persistence: { createRetainedStream(pattern: string): AsyncIterable<{ topic: string; payload: Buffer }> } }).persistence;
  const records = new Map<string, Document>();
  for await (const { topic, payload } of persistence.createRetainedStream(`${PREFIX}/instances/${OWN}/connections/+`)) {
    if (payload.length === 0) continue;
    const { r } = EJSON.parse(payload.toString('utf8')) as { r: Document };
    records.set(topic.slice(topic.lastIndexOf('/') + 1), r);
  }
  return records;
}

/** The store's records of this instance, as the broker should retain them. */
async function expected(store: MemoryCollection<ConnectedUser>): Promise<Map<string, Document>> {
  return new Map((await store.find({ instanceId: OWN }).fetchAsync()).map((doc) => [doc._id, doc as Document]));
}

async function converged(broker: AedesBroker, store: MemoryCollection<ConnectedUser>): Promise<boolean> {
  const [have, want] = await Promise.all([retained(broker), expected(store)]);
  return have.size === want.size && [...want].every(([id, doc]) => have.has(id) && EJSON.equals(have.get(id) as never, doc as never));
}

describe("MQTT bridge: our own records are read from the store, not copied", () => {
  let broker: AedesBroker;
  let store: MemoryCollection<ConnectedUser>;
  let bridge: MqttBridge;

  before(async () => {
    broker = await startAedes();
    store = new MemoryCollection<ConnectedUser>('connectedUsers');
    for (const id of ['a', 'b', 'c']) await store.insertAsync(record(id));
    await store.insertAsync(record('peer', 'other-instance')); // a shared store: not ours to publish
    bridge = new MqttBridge(
      { ...defaultMqttBridgeLimits, url: broker.url, topicPrefix: PREFIX, keepaliveSeconds: 2, instanceId: OWN, minReconnectMs: 100, maxReconnectMs: 200 },
      store as unknown as MemoryCollection<Document>,
      validateConnectedUser,
      captureLogger().log,
    );
    bridge.start();
  });
  after(async () => {
    await bridge?.stop();
    await broker?.stop();
  });

  test('at connect, the store\'s records of this instance are published, and only those', async () => {
    await waitFor(() => converged(broker, store), 5_000, 'a, b and c retained');
    assert.deepEqual([...(await retained(broker)).keys()].sort(), ['a', 'b', 'c']);
  });

  test('an update is published as the store has it; of two quick updates the later one stays', async () => {
    await store.updateAsync({ _id: 'a' }, { $set: { userAgent: 'v2' } });
    await waitFor(async () => (await retained(broker)).get('a')?.userAgent === 'v2', 3_000, 'a at v2');
    await store.updateAsync({ _id: 'b' }, { $set: { userAgent: 'v3' } });
    await store.updateAsync({ _id: 'b' }, { $set: { userAgent: 'v4' } });
    await waitFor(() => converged(broker, store), 3_000, 'b at v4');
    // A late publish of v3 would go out before a later update's: once that one is retained, b must still be v4.
    await store.updateAsync({ _id: 'c' }, { $set: { userAgent: 'after-b' } });
    await waitFor(async () => (await retained(broker)).get('c')?.userAgent === 'after-b', 3_000, 'c at after-b');
    assert.equal((await retained(broker)).get('b')?.userAgent, 'v4');
  });

  test('after a broker restart (every retained message lost), what lived through it is published again from the store', async () => {
    await broker.restart(300);
    // While the bridge reconnects: one record goes, one changes, one arrives.
    await store.removeAsync({ _id: 'c' });
    await store.updateAsync({ _id: 'a' }, { $set: { userAgent: 'v5' } });
    await store.insertAsync(record('d'));
    await waitFor(() => bridge.status().connected, 5_000, 'the bridge reconnected');
    await waitFor(() => converged(broker, store), 5_000, 'a (v5), b (v4) and d retained, c not');
    assert.deepEqual([...(await retained(broker)).keys()].sort(), ['a', 'b', 'd']);
  });

  test('a clean stop clears every record of ours', async () => {
    await bridge.stop();
    assert.equal((await retained(broker)).size, 0);
  });
});
