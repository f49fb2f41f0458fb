import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { STATS_NAMES } from '../../imports/app/live-stats';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { spawnApp, type AppProcess } from '../helpers/app-process';
import { startMosquitto, type TestBroker } from '../helpers/brokers';
import { liveRecords, RawDdpClient } from '../helpers/raw-ddp-client';

/**
 * composePresence hands the MQTT bridge's statuses to presence.stats: a peer's
 * stats document is `online` while the bridge holds it online (connections
 * or not), and turns `online: false` at the next sample once its Will
 * arrives. Instance 1 runs in this process; instance 2 is a child process,
 * so it can die by kill -9 (mosquitto sees the socket close at once and
 * publishes its Will). The bridge's own rules are tested in tests/mqtt.
 */
const KEEPALIVE_S = 2;
/** MQTT 3.1.1 §3.1.2.10: the broker gives up after 1.5 × keep-alive; plus 2 s of slack, plus one stats sample. */
const OFFLINE_DEADLINE_MS = 1.5 * KEEPALIVE_S * 1000 + 2000 + 1000;

describe('presence.stats: `online` of another instance follows the bridge (mosquitto)', () => {
  let broker: TestBroker;
  let one: AppTestServer;
  let two: AppProcess;
  let monitor: RawDdpClient;

  before(async () => {
    broker = await startMosquitto();
    const env = { MQTT_URL: broker.url, MQTT_KEEPALIVE: String(KEEPALIVE_S), PRESENCE_MONITOR_TOKEN: MONITOR_TOKEN };
    one = await startAppForTest({ ...env, PRESENCE_INSTANCE_ID: 'stats-1' });
    two = await spawnApp({ ...env, PRESENCE_INSTANCE_ID: 'stats-2' });
    ({ client: monitor } = await RawDdpClient.connect(one.wsUrl));
    monitor.send({ msg: 'sub', id: 'stats', name: STATS_NAMES.publication, params: [{ token: MONITOR_TOKEN }] });
    await monitor.until((f) => f.msg === 'ready' && (f.subs as string[])[0] === 'stats');
  });
  after(async () => {
    monitor?.close();
    await two?.kill('SIGKILL');
    await one?.close();
    await broker?.stop();
  });

  /** Instance 2's stats document as the monitor holds it now. */
  const docOfTwo = () => liveRecords(monitor, STATS_NAMES.collection).get('stats-2') as
    | { online: boolean; connections: number; latest?: { at: number } }
    | undefined;
  /** A sample taken after this moment has reached the monitor. */
  const nextSample = async () => {
    const at = docOfTwo()?.latest?.at ?? 0;
    await waitFor(() => (docOfTwo()?.latest?.at ?? 0) > at, 3000, 'the next stats sample');
  };

  test('online with connections, still online with none, offline at the next sample after kill -9', async (t) => {
    const first = await RawDdpClient.connect(two.wsUrl);
    await waitFor(() => docOfTwo()?.connections === 1, 5000, 'stats-2 appears with its connection');
    assert.equal(docOfTwo()!.online, true);

    first.client.close();
    await waitFor(() => docOfTwo()?.connections === 0, 5000, 'its connection closed');
    await nextSample();
    assert.equal(docOfTwo()!.online, true, 'no connections, but its run is online: the bridge, not the record count, decides');

    await RawDdpClient.connect(two.wsUrl); // a connection open when it dies
    await waitFor(() => docOfTwo()?.connections === 1, 5000, 'a connection again');
    const killedAt = Date.now();
    await two.kill('SIGKILL');
    await waitFor(() => docOfTwo()?.online === false, OFFLINE_DEADLINE_MS, 'stats-2 offline');
    t.diagnostic(`kill -9 → online:false at the monitor after ${Date.now() - killedAt} ms`);
    assert.equal(docOfTwo()!.connections, 0, 'its records left with the Will');
    await nextSample();
    assert.equal(docOfTwo()!.online, false, 'and it stays offline (the document stays for the history window)');
    assert.equal(liveRecords(monitor, STATS_NAMES.collection).get('stats-1')!.online, true, 'this instance is unaffected');
  });
});
