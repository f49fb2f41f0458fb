import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { MOSQUITTO_PATH, startMosquitto, type TestBroker } from '../helpers/brokers';
import { liveRecords, RawDdpClient } from '../helpers/raw-ddp-client';

/**
 * Issue 12: other instances' per-connection records are held only where a
 * monitor looks; counts and stats come from each instance's summary. Two
 * instances through Debian's mosquitto (default settings): A holds a crowd,
 * B is watched (or not).
 */
const CROWD = 200;
const GRACE_MS = 600;

interface BridgeDoc { holdsRecords?: boolean; remoteRecords?: number }

async function subscribe(url: string, name: string, params: unknown[] = []) {
  const { client, session } = await RawDdpClient.connect(url);
  client.send({ msg: 'sub', id: 's', name, params });
  await client.until((f) => f.msg === 'ready', 10_000);
  return { client, session };
}

const countOf = (client: RawDdpClient) => liveRecords(client, 'connectedUsers.count').get('total')?.count;
const bridgeOf = (client: RawDdpClient) => (liveRecords(client, 'presence.bridge').get('mqtt') ?? {}) as BridgeDoc;

describe('remote records on demand (mosquitto, default settings)', { skip: MOSQUITTO_PATH ? false : 'mosquitto is not installed (apt-get install mosquitto)' }, () => {
  let broker: TestBroker;
  let a: AppTestServer;
  let b: AppTestServer;
  const crowd: RawDdpClient[] = [];
  const ws = (app: AppTestServer) => app.url.replace('http', 'ws') + '/websocket';

  before(async () => {
    broker = await startMosquitto();
    const env = { MQTT_URL: broker.url, MQTT_KEEPALIVE: '2', PRESENCE_MONITOR_TOKEN: MONITOR_TOKEN, MQTT_REMOTE_RECORDS_GRACE_MS: String(GRACE_MS) };
    a = await startAppForTest({ ...env, PRESENCE_INSTANCE_ID: 'od-A' });
    b = await startAppForTest({ ...env, PRESENCE_INSTANCE_ID: 'od-B' });
    for (let i = 0; i < CROWD; i++) crowd.push((await RawDdpClient.connect(ws(a))).client);
  });
  after(async () => {
    for (const c of crowd) c.ws.terminate();
    await b?.close();
    await a?.close();
    await broker?.stop();
  });

  test('without a monitor, B holds none of A\'s records, yet its count (for anyone) is exact from A\'s summary', async () => {
    const counter = await subscribe(ws(b), 'list.connectedUsers.count');
    const status = await subscribe(ws(b), 'presence.bridgeStatus', [{ token: MONITOR_TOKEN }]);
    // A's crowd, plus B's own two clients.
    await waitFor(() => countOf(counter.client) === CROWD + 2, 5_000, `B counts ${CROWD} + 2`);
    assert.deepEqual({ holds: bridgeOf(status.client).holdsRecords, records: bridgeOf(status.client).remoteRecords }, { holds: false, records: 0 });
    // Churn at A reaches B's count within a second of quiescence.
    for (const c of crowd.splice(0, 50)) c.ws.close();
    const closedAt = Date.now();
    await waitFor(() => countOf(counter.client) === CROWD - 50 + 2, 5_000, 'B counts the closes');
    assert.ok(Date.now() - closedAt < 1_500, `count exact ${Date.now() - closedAt} ms after the closes`);
    counter.client.ws.terminate();
    status.client.ws.terminate();
  });

  test('presence.stats at B: A\'s connections and connects come from its summary, without records', async () => {
    const stats = await subscribe(ws(b), 'presence.stats', [{ token: MONITOR_TOKEN }]);
    await waitFor(() => liveRecords(stats.client, 'presence.stats').get('od-A')?.connections === crowd.length, 4_000, 'A\'s connections in B\'s stats');
    for (let i = 0; i < 10; i++) crowd.push((await RawDdpClient.connect(ws(a))).client);
    await waitFor(() => {
      const aStats = stats.client.frames.filter((f) => f.collection === 'presence.stats' && f.id === 'od-A' && f.msg === 'changed');
      return aStats.reduce((n, f) => n + (((f.fields as { latest?: { connects?: number } }).latest?.connects) ?? 0), 0) === 10;
    }, 8_000, `A's 10 connects in B's stats samples (${stats.client.frames.length} frames, last: ${JSON.stringify(stats.client.frames.at(-1)).slice(0, 300)}): ${JSON.stringify(stats.client.frames.filter((f) => f.collection === 'presence.stats' && f.id === 'od-A').map((f) => (f.fields as { latest?: unknown }).latest))}`);
    const total = liveRecords(stats.client, 'presence.stats').get('total');
    await waitFor(() => liveRecords(stats.client, 'presence.stats').get('total')?.connections === crowd.length + 1, 3_000, `total ${crowd.length} + B's own`);
    assert.ok(total);
    stats.client.ws.terminate();
  });

  test('a monitor at B: its `ready` comes with A\'s whole list; after it leaves, B lets the records go after the grace', async () => {
    const status = await subscribe(ws(b), 'presence.bridgeStatus', [{ token: MONITOR_TOKEN }]);
    const monitor = await subscribe(ws(b), 'list.connectedUsers', [{ token: MONITOR_TOKEN }]);
    const atReady = liveRecords(monitor.client);
    const fromA = [...atReady.values()].filter((r) => r.instanceId === 'od-A').length;
    assert.equal(fromA, crowd.length, 'every one of A\'s records is in the list at `ready`');
    await waitFor(() => bridgeOf(status.client).holdsRecords === true, 3_000, 'B holds records while watched');
    // Live: a new connection at A appears at B's monitor.
    const late = await RawDdpClient.connect(ws(a));
    crowd.push(late.client);
    await waitFor(() => liveRecords(monitor.client).has(late.session), 3_000, 'a new record at A shows at B');
    monitor.client.ws.terminate();
    await waitFor(() => bridgeOf(status.client).remoteRecords === 0 && bridgeOf(status.client).holdsRecords === false, GRACE_MS + 3_000, 'records let go after the grace');
    status.client.ws.terminate();
  });

});
