import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { liveRecords, RawDdpClient } from '../helpers/raw-ddp-client';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { spawnApp, type AppProcess } from '../helpers/app-process';
import { describeLogs, matching } from '../helpers/capture-logger';
import type { TestBroker } from '../helpers/brokers';

const KEEPALIVE_S = 2;
/** MQTT 3.1.1 §3.1.2.10: the broker gives up after 1.5 × keep-alive; plus 2 s of slack. */
const WILL_DEADLINE_MS = 1.5 * KEEPALIVE_S * 1000 + 2000;

/** What the presence view of an in-process app holds now (what its list and count read). */
function viewRecords(app: AppTestServer): Array<Record<string, unknown> & { _id: string }> {
  const records: Array<Record<string, unknown> & { _id: string }> = [];
  app.presence!.view.observe({ added: (id, fields) => records.push({ _id: id, ...fields }), removed: () => {} }).stop();
  return records;
}


/**
 * The multi-instance cases, run once per broker (mosquitto, aedes).
 * Instance 1 runs in this process (its store can be inspected); instances 2
 * and 3 are real child processes, so instance 2 can be killed with SIGKILL.
 * `brokerKeepaliveSlackMs`: how late past 1.5 × keep-alive the broker itself
 * may notice a silent client (it decides when the Will goes out).
 */
export function bridgeSuite(startBroker: () => Promise<TestBroker>, brokerKeepaliveSlackMs = 0): void {
  let broker: TestBroker;
  let one: AppTestServer;
  let two: AppProcess;
  let three: AppProcess;
  let monitor: RawDdpClient;
  // Records held always: these tests are about the records themselves (on-demand: tests/mqtt/on-demand-records.test.ts).
  const env = () => ({ MQTT_URL: broker.url, MQTT_KEEPALIVE: String(KEEPALIVE_S), PRESENCE_MONITOR_TOKEN: MONITOR_TOKEN, MQTT_REMOTE_RECORDS: 'always' });

  before(async () => {
    broker = await startBroker();
    one = await startAppForTest({ ...env(), PRESENCE_INSTANCE_ID: 'inst-1' });
    [two, three] = await Promise.all([
      spawnApp({ ...env(), PRESENCE_INSTANCE_ID: 'inst-2' }),
      spawnApp({ ...env(), PRESENCE_INSTANCE_ID: 'inst-3' }),
    ]);
    ({ client: monitor } = await RawDdpClient.connect(one.wsUrl));
    monitor.send({ msg: 'sub', id: 'list', name: 'list.connectedUsers', params: [{ token: MONITOR_TOKEN }] });
    monitor.send({ msg: 'sub', id: 'count', name: 'list.connectedUsers.count' });
    monitor.send({ msg: 'sub', id: 'bridge', name: 'presence.bridgeStatus', params: [{ token: MONITOR_TOKEN }] });
    await monitor.until((f) => f.msg === 'ready' && (f.subs as string[])[0] === 'bridge');
  });
  after(async () => {
    monitor?.close();
    await Promise.all([two?.kill('SIGKILL'), three?.kill('SIGKILL')]);
    await one?.close();
    await broker?.stop();
  });

  const count = () => {
    const frames = monitor.frames.filter((f) => f.collection === 'connectedUsers.count');
    return (frames.at(-1)?.fields as { count?: number } | undefined)?.count;
  };
  const sessionsOf = (instanceId: string) =>
    [...liveRecords(monitor)].filter(([, r]) => r.instanceId === instanceId).map(([id]) => id).sort();

  test('three instances with clients on each: a monitor on instance 1 sees everyone, count included', async () => {
    const clients = {
      'inst-1': await Promise.all([1, 2].map(() => RawDdpClient.connect(one.wsUrl))),
      'inst-2': await Promise.all([1, 2, 3].map(() => RawDdpClient.connect(two.wsUrl))),
      'inst-3': await Promise.all([1].map(() => RawDdpClient.connect(three.wsUrl))),
    };
    for (const [instanceId, list] of Object.entries(clients)) {
      const expected = list.map((c) => c.session);
      if (instanceId === 'inst-1') expected.push(...sessionsOf('inst-1').filter((id) => !expected.includes(id)));
      await waitFor(() => expected.every((id) => sessionsOf(instanceId).includes(id)), 5000, `${instanceId} records at the monitor`);
    }
    assert.equal(sessionsOf('inst-2').length, 3);
    assert.equal(sessionsOf('inst-3').length, 1);
    await waitFor(() => count() === liveRecords(monitor).size, 2000, 'count matches the list');
    assert.equal(liveRecords(monitor).size, 7, '2 + 1 monitor on inst-1, 3 on inst-2, 1 on inst-3');
    // A monitor on another instance sees the same total.
    const { client: remoteMonitor } = await RawDdpClient.connect(three.wsUrl);
    remoteMonitor.send({ msg: 'sub', id: 'c', name: 'list.connectedUsers.count' });
    await remoteMonitor.until((f) => f.collection === 'connectedUsers.count' && (f.fields as { count: number }).count === 8, 5000);
    remoteMonitor.close();
    // Bridge status for monitors.
    const bridge = monitor.frames.filter((f) => f.collection === 'presence.bridge');
    const status = Object.assign({}, ...bridge.map((f) => f.fields)) as Record<string, unknown>;
    assert.equal(status.connected, true);
    assert.equal(status.brokerUrl, broker.url);
    await waitFor(() => {
      const latest = Object.assign({}, ...monitor.frames.filter((f) => f.collection === 'presence.bridge').map((f) => f.fields));
      return latest.remoteInstances === 2;
    }, 3000, 'two remote instances');
    for (const list of Object.values(clients)) for (const c of list) c.client.close();
    await waitFor(() => sessionsOf('inst-2').length === 0 && sessionsOf('inst-3').length === 0, 3000, 'closes propagate');
  });

  test('a non-monitor on instance 1 still sees only itself, and no bridge status', async () => {
    await RawDdpClient.connect(two.wsUrl); // someone elsewhere
    const { client, session } = await RawDdpClient.connect(one.wsUrl);
    client.send({ msg: 'sub', id: 's', name: 'list.connectedUsers' });
    client.send({ msg: 'sub', id: 'b', name: 'presence.bridgeStatus' });
    await client.until((f) => f.msg === 'ready' && (f.subs as string[])[0] === 'b');
    assert.deepEqual([...liveRecords(client).keys()], [session]);
    assert.ok(!client.frames.some((f) => f.collection === 'presence.bridge'));
    client.close();
  });

  test('kill -9 of instance 2: its records leave instance 1\'s view within 1.5 × keep-alive + 2 s', async (t) => {
    const clients = await Promise.all([1, 2].map(() => RawDdpClient.connect(two.wsUrl)));
    await waitFor(() => clients.every((c) => sessionsOf('inst-2').includes(c.session)), 5000, 'inst-2 records visible');
    const killedAt = Date.now();
    await two.kill('SIGKILL');
    await waitFor(() => sessionsOf('inst-2').length === 0, WILL_DEADLINE_MS, 'inst-2 records gone');
    const elapsed = Date.now() - killedAt;
    assert.ok(elapsed <= WILL_DEADLINE_MS, `gone after ${elapsed} ms`);
    t.diagnostic(`kill -9 → records gone at the monitor after ${elapsed} ms`);
    // The presence view itself (what list and count read), not only what this monitor was sent.
    assert.deepEqual(viewRecords(one).filter((r) => r.instanceId === 'inst-2'), []);
    // Peers' records never reach instance 1's store (issue 10: the bridge has no write access to it).
    assert.equal(await one.collection.find({ instanceId: { $ne: 'inst-1' } }).countAsync(), 0);
  });

  test('restart of an instance with the same id: no duplicates and no ghosts', async () => {
    two = await spawnApp({ ...env(), PRESENCE_INSTANCE_ID: 'inst-2' });
    const { client, session } = await RawDdpClient.connect(two.wsUrl);
    await waitFor(() => sessionsOf('inst-2').includes(session), 5000, 'new inst-2 record');
    // A ghost of the killed run would come from the broker's retained set, across processes: no event says none is coming.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(sessionsOf('inst-2'), [session], 'only the live session of the new run');
    const ids = [...liveRecords(monitor).keys()];
    assert.equal(new Set(ids).size, ids.length);
    client.close();
    await waitFor(() => sessionsOf('inst-2').length === 0, 3000, 'closed');
  });

  test('a clean stop removes that instance\'s records at once', async (t) => {
    const clients = await Promise.all([1, 2].map(() => RawDdpClient.connect(three.wsUrl)));
    await waitFor(() => clients.every((c) => sessionsOf('inst-3').includes(c.session)), 5000);
    const stoppedAt = Date.now();
    await three.kill('SIGTERM');
    await waitFor(() => sessionsOf('inst-3').length === 0, 1000, 'inst-3 records gone');
    assert.ok(Date.now() - stoppedAt < 1000);
    t.diagnostic(`SIGTERM → records gone at the monitor after ${Date.now() - stoppedAt} ms`);
    assert.ok(three.output.some((l) => l.includes('Shutting down')));
  });

  test('bad input on the broker is ignored, logged once per kind, and never reaches the view', async () => {
    const intruder = await mqtt.connectAsync(broker.url, { clientId: 'intruder' });
    try {
      await intruderScenario(intruder);
    } finally {
      await intruder.endAsync(true);
    }
  });

  async function intruderScenario(intruder: mqtt.MqttClient): Promise<void> {
    const epoch = Date.now();
    // The wire format: EJSON {"e": <run epoch>, "r": <record>} (mqtt-bridge.ts).
    const record = (id: string, instanceId: string) =>
      JSON.stringify({ e: epoch, r: { _id: id, userId: id, connectedAt: { $date: Date.now() }, instanceId } });
    await intruder.publishAsync('presence/instances/evil/status', JSON.stringify({ state: 'online', epoch }), { retain: true, qos: 1 });
    const bad: Array<[string, string | Buffer]> = [
      ['presence/instances/evil/connections/a1', '{not json'],
      ['presence/instances/evil/connections/a2', JSON.stringify({ e: epoch, r: { _id: 'a2', hello: 'world' } })],
      ['presence/instances/evil/connections/a3', JSON.stringify([1, 2, 3])],
      ['presence/instances/evil/connections/a8', JSON.stringify({ _id: 'a8', userId: 'a8', connectedAt: { $date: epoch }, instanceId: 'evil' })],
      ['presence/instances/evil/connections/a9', JSON.stringify({ e: 'soon', r: JSON.parse(record('a9', 'evil')).r })],
      ['presence/instances/evil/connections/a4', Buffer.alloc(64 * 1024, 'x')],
      ['presence/instances/evil/connections/a5', record('other-id', 'evil')],
      ['presence/instances/evil/connections/a6', record('a6', 'inst-2')],
      ['presence/instances/evil/status', '{"state":"sideways","epoch":1}'],
      ['presence/instances/inst-1/connections/forged1', record('forged1', 'inst-1')],
      ['presence/instances/evil/connections/a7/extra', record('a7', 'evil')],
      // A key named like an Object.prototype method: simpl-schema alone let it through (connected-user-schema.ts).
      ['presence/instances/evil/connections/a10', JSON.stringify({ e: epoch, r: { ...JSON.parse(record('a10', 'evil')).r, toString: 'x'.repeat(1000) } })],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [topic, payload] of bad) await intruder.publishAsync(topic, payload, { qos: 1 });
    }
    // A valid record under a live instance's own topic does show: the broker is the trust boundary.
    await intruder.publishAsync('presence/instances/evil/connections/good1', record('good1', 'evil'), { qos: 1 });
    await waitFor(() => liveRecords(monitor).has('good1'), 3000, 'the valid record');
    // good1 came last on the same topic tree: everything before it has been handled (the view updates synchronously).
    const inView = new Set(viewRecords(one).map((r) => r._id));
    assert.ok(inView.has('good1'));
    for (const id of ['a1', 'a2', 'a3', 'a4', 'a5', 'other-id', 'a6', 'forged1', 'a7', 'a8', 'a9', 'a10']) {
      assert.ok(!liveRecords(monitor).has(id), `${id} must not be sent to the monitor`);
      assert.ok(!inView.has(id), `${id} must not be in the view`);
      assert.equal(await one.collection.findOneAsync({ _id: id }), undefined);
    }
    assert.equal(await one.collection.findOneAsync({ _id: 'good1' }), undefined, 'remote records are never written to the store');
    const ignored = matching(one.logs, { message: /^Ignoring MQTT message: / });
    const warnings = matching(ignored, { level: 'warn' });
    assert.equal(warnings.length, ignored.length, `at warning level: ${describeLogs(ignored)}`);
    const kinds = new Set(warnings.map((entry) => entry.context?.reason));
    assert.equal(warnings.length, kinds.size, `one warning per kind, not per message: ${describeLogs(warnings)}`);
    for (const kind of ['malformed JSON', 'invalid record', 'oversized', 'foreign ids', 'invalid status']) assert.ok(kinds.has(kind), kind);
    const rejected = one.bridge!.status().rejected;
    assert.ok((rejected['malformed JSON'] ?? 0) >= 3, 'counted per message');
    assert.ok((rejected['invalid record'] ?? 0) >= 3 * 5, 'a2, a3, a8 (the old, unwrapped payload), a9 (no numeric epoch) and a10 (a prototype-named key), each round');
    // The forged record under inst-1's own topic was cleared from the broker.
    await waitFor(async () => {
      const probe = await mqtt.connectAsync(broker.url, { clientId: 'probe' + Date.now() });
      const retained: string[] = [];
      probe.on('message', (t, p) => p.length && retained.push(t));
      await probe.subscribeAsync('presence/instances/inst-1/connections/forged1');
      // A retained message streams in after the SUBACK (aedes: asynchronously): no event marks that none is coming.
      await new Promise((r) => setTimeout(r, 200));
      await probe.endAsync();
      return retained.length === 0;
    }, 3000, 'forged retained record cleared');
    // The intruder's "instance" going offline takes its record with it.
    await intruder.publishAsync('presence/instances/evil/status', JSON.stringify({ state: 'offline', epoch: Date.now() }), { retain: true, qos: 1 });
    await waitFor(() => !liveRecords(monitor).has('good1'), 3000, 'offline instance dropped');
  }

  test('the broker restarts: local presence keeps working, and the views converge again', async () => {
    const before = await RawDdpClient.connect(two.wsUrl);
    await waitFor(() => sessionsOf('inst-2').includes(before.session), 5000);
    await broker.restart(800);
    // During and after the outage, instance 1's own presence is unaffected.
    const local = await RawDdpClient.connect(one.wsUrl);
    await waitFor(() => liveRecords(monitor).has(local.session), 1000, 'local record while broker away');
    before.client.close(); // closes while instance 1 may still be reconnecting
    const after = await RawDdpClient.connect(two.wsUrl);
    await waitFor(() => sessionsOf('inst-2').includes(after.session), 15_000, 'new inst-2 record after the restart');
    await waitFor(() => !sessionsOf('inst-2').includes(before.session), 15_000, 'the closed one is gone');
    await waitFor(() => Object.assign({}, ...monitor.frames.filter((f) => f.collection === 'presence.bridge').map((f) => f.fields)).connected === true, 5000);
    after.client.close();
    local.client.close();
  });

  test('a frozen instance (SIGSTOP: socket open, silent) drops out by keep-alive + Will', async (t) => {
    const { session } = await RawDdpClient.connect(two.wsUrl);
    await waitFor(() => sessionsOf('inst-2').includes(session), 5000);
    const stoppedAt = Date.now();
    two.child.kill('SIGSTOP');
    const deadline = WILL_DEADLINE_MS + brokerKeepaliveSlackMs;
    await waitFor(() => sessionsOf('inst-2').length === 0, deadline + 1000, 'frozen instance dropped');
    const elapsed = Date.now() - stoppedAt;
    t.diagnostic(`SIGSTOP → records gone at the monitor after ${elapsed} ms (keep-alive ${KEEPALIVE_S} s)`);
    assert.ok(elapsed <= deadline, `gone after ${elapsed} ms`);
    assert.ok(elapsed >= KEEPALIVE_S * 1000, 'it was the keep-alive that expired, not a socket close');
    await two.kill('SIGKILL');
  });
}
