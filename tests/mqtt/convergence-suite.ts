import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import type { ConnectedUser } from '../../imports/app/host';
import { MemoryCollection } from '../../imports/store/memory-collection';
import { spawnApp, type AppProcess } from '../helpers/app-process';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { describeLogs, matching } from '../helpers/capture-logger';
import type { TestBroker } from '../helpers/brokers';
import { RawDdpClient } from '../helpers/raw-ddp-client';

/**
 * Issue 10's repros 1–8 (and 9 over MQTT), run once per broker. Against
 * mosquitto the broker runs with its defaults (tests/helpers/brokers.ts:
 * listener, allow_anonymous, persistence false, nothing else), so a QoS 1
 * subscriber gets at most ~1,020 messages at once (max_inflight_messages 20
 * + max_queued_messages 1000), and any subscriber that stops reading loses
 * what is past ~1,000 packets queued for it, QoS 0 or 1 (measured: a stalled
 * subscriber lost 1,103 of 2,000 removals and the QoS 1 digest after them).
 * That is what the bridge must survive. `CROWD` connections are enough to
 * exceed it (1,500 rather than the issue's 3,000–8,000, to keep tests short).
 *
 * Instances that are killed or frozen are child processes (spawnApp); the
 * crowd is raw ws DDP clients spread over 127.0.0.x source addresses (the
 * server admits at most 100 pending sockets per address). Each test gets
 * its own broker, so retained messages never leak from one test to the next.
 */
const CROWD = 1_500;
const ADDRESSES = 20;
/**
 * The target is 10 s for 19,000 simultaneous closes. Not scaled down to CROWD: a repair after a
 * lost message costs a fixed ~3.5 s (250 ms digest interval + 1 s settle + a resync round, ≤ 2 s grace).
 */
const BURST_DEADLINE_MS = 5_000;
/** The 10 s (for 19,000): ample for a digest interval, a settle and a resync round, on 2 shared cores. */
const CONVERGE_DEADLINE_MS = 10_000;
/** A closed socket's Will is published at once; keep-alive does not matter here. */
const WILL_DEADLINE_MS = 3_000;
/** "Exact" means exact and staying so this long: past a digest check (digestSettleMs 1 s), so no late correction is missed. */
const STEADY_MS = 1_200;
/** 48 KiB packets that fill the socket buffers between the broker and a stalled instance (~10 MB: more than loopback's 4 MB send + autotuned receive buffers). */
const FILLER_PACKETS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** waitFor, with a description computed when it times out (so it can show the last value seen). */
async function eventually(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string | Promise<string>),
): Promise<void> {
  try {
    await waitFor(predicate, timeoutMs, typeof what === 'string' ? what : 'condition');
  } catch (error) {
    if (typeof what === 'string') throw error;
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${await what()}`);
  }
}

export interface ConvergenceSuiteOptions {
  brokerName: string;
  /** mosquitto drops messages for a subscriber that does not read (max_queued_messages); aedes buffers them. */
  brokerDropsWhenSubscriberStalls: boolean;
}

export function convergenceSuite(startBroker: () => Promise<TestBroker>, { brokerName, brokerDropsWhenSubscriberStalls }: ConvergenceSuiteOptions): void {
  /** One broker, the instances and clients of one test, all torn down after it. */
  async function scenario(body: (s: Scenario) => Promise<void>): Promise<void> {
    const s = new Scenario(await startBroker());
    try {
      await body(s);
    } finally {
      await s.teardown();
    }
  }

  test(`repro 1, burst: ${CROWD} clients on A close at once; B's view is exact within ${BURST_DEADLINE_MS / 1000} s`, async (t) => {
    await scenario(async (s) => {
      const [a, b] = await s.instances('A', 'B');
      const monitor = await s.monitor(b.wsUrl);
      const crowd = await s.crowd(a.wsUrl, CROWD);
      const rampedAt = Date.now();
      const exactAt = await monitor.settles(CROWD + 1, CONVERGE_DEADLINE_MS, `B counts ${CROWD} + its monitor`);
      t.diagnostic(`${CROWD} connects: B exact ${exactAt - rampedAt} ms after the last one`);

      const closedAt = Date.now();
      crowd.terminate();
      const emptyAt = await monitor.settles(1, BURST_DEADLINE_MS, 'B back to its own monitor only');
      t.diagnostic(`${CROWD} simultaneous closes: B exact after ${emptyAt - closedAt} ms (and stayed so ${STEADY_MS} ms)`);
      assert.deepEqual([...(await monitor.listOnce()).keys()], [monitor.session], 'no ghost in the list either');
      s.report(t, 'B', await bridgeStatus(b.wsUrl));
    });
  });

  test(`repro 1, burst while B is stalled: the broker drops what B cannot take, and B repairs its view from A's digest within ${CONVERGE_DEADLINE_MS / 1000} s of resuming (the issue's target)`, async (t) => {
    await scenario(async (s) => {
      const [a, b] = await s.instances('A', 'B');
      const monitor = await s.monitor(b.wsUrl);
      const crowd = await s.crowd(a.wsUrl, CROWD);
      await monitor.settles(CROWD + 1, CONVERGE_DEADLINE_MS, `B counts ${CROWD} + its monitor`, 200);

      // B stops reading (a long GC pause, a starved CPU). Filler on a topic B subscribes to fills the
      // socket buffers between the broker and B, so the broker must queue A's burst itself: mosquitto
      // keeps max_queued_messages (1000) and drops the rest, A's digest included. B rejects the filler.
      b.child.kill('SIGSTOP');
      let stalled = true;
      s.onTeardown(() => stalled && b.child.kill('SIGCONT'));
      const evil = await s.intruder();
      const filler = Buffer.alloc(48 * 1024, 'f');
      for (let i = 0; i < FILLER_PACKETS; i++) await evil.publishAsync(s.topic(`instances/FILLER/connections/fill${i}`), filler, { qos: 0 });
      // The stall is the subject: time for the filler to reach B's socket (B, stopped, cannot tell us), then a second of burst.
      await sleep(200);
      const closedAt = Date.now();
      crowd.terminate();
      await sleep(1_000);
      b.child.kill('SIGCONT');
      stalled = false;
      const resumedAt = Date.now();
      const emptyAt = await monitor.settles(1, CONVERGE_DEADLINE_MS, 'B back to its own monitor only').catch(async (error) => {
        const retained = await s.retained('A');
        throw new Error(`${(error as Error).message}; the broker holds ${retained.size} retained records of A, so they are ghosts; B's bridge status ${JSON.stringify(await bridgeStatus(b.wsUrl))}`);
      });
      t.diagnostic(`stalled burst: B exact ${emptyAt - closedAt} ms after the closes, ${emptyAt - resumedAt} ms after it resumed`);
      const status = await bridgeStatus(b.wsUrl);
      s.report(t, 'B', status);
      if (brokerDropsWhenSubscriberStalls) {
        assert.ok((status.resyncs ?? 0) >= 1, `the premise: the broker dropped part of the burst, and B resynced A (resyncs ${status.resyncs})`);
      }
    });
  });

  test(`repro 2, instance crash: SIGKILL A holding ${CROWD}, restart it with the same id; a fresh C is exact and no retained record of A's earlier run is left`, async (t) => {
    await scenario(async (s) => {
      const [first] = await s.instances('A');
      const crowd = await s.crowd(first.wsUrl, CROWD);
      await s.retainedSettles('A', CROWD, 'A\'s first run announced its crowd');
      const firstEpoch = (await s.status('A'))!.epoch;
      await first.kill('SIGKILL');
      crowd.terminate();

      // A's next run and a fresh C start together: C sees A's earlier run's records before A has cleared them.
      const restartedAt = Date.now();
      const [second, c] = await s.instances('A', 'C');
      const { session: survivor } = await s.client(second.wsUrl);
      const monitor = await s.monitor(c.wsUrl);
      await monitor.settles(2, CONVERGE_DEADLINE_MS, 'C counts A\'s one live client + its monitor');
      assert.deepEqual([...(await monitor.listOnce()).keys()].sort(), [survivor, monitor.session].sort(), 'C shows no ghost of A\'s earlier run');

      // The broker: every retained record of A's earlier run is cleared, however many rounds that takes.
      const secondEpoch = (await s.status('A'))!.epoch;
      assert.ok(secondEpoch > firstEpoch, 'a new run');
      const records = await s.retainedSettles('A', 1, 'only A\'s live record retained').catch((error) => {
        throw new Error(`${(error as Error).message}; A logged: ${second.output.filter((l) => /leftover|Cleared/.test(l)).join(' | ')}`);
      });
      const rounds = second.output.filter((l) => l.includes('Cleared retained records of an earlier run')).map((l) => l.match(/"cleared":(\d+)/)?.[1]);
      const gaveUp = second.output.some((l) => l.includes('were not all cleared'));
      t.diagnostic(`A restarted → the broker holds only its live record after ${Date.now() - restartedAt} ms; A cleared [${rounds.join(', ')}] in successive rounds${gaveUp ? ', then gave up (maxCleanupRounds)' : ''}`);
      assert.deepEqual([...records.keys()], [s.topic(`instances/A/connections/${survivor}`)]);
      assert.equal((JSON.parse(records.values().next().value!.toString()) as { e: number }).e, secondEpoch, 'of the new run');
    });
  });

  test(`repro 3, broker restart: SIGKILL the broker and restart it while A holds ${CROWD}; B converges, and after everyone leaves no ghost is left anywhere`, async (t) => {
    await scenario(async (s) => {
      const [a, b] = await s.instances('A', 'B');
      const monitorA = await s.monitor(a.wsUrl);
      const monitorB = await s.monitor(b.wsUrl);
      const crowd = await s.crowd(a.wsUrl, CROWD);
      await monitorB.settles(CROWD + 2, CONVERGE_DEADLINE_MS, 'B counts everyone before the restart', 200);

      const restartedAt = Date.now();
      const lowest = monitorB.trackLowest();
      await s.broker.restart(500);
      // Both bridges saw the broker go; exact only counts once both are back.
      await eventually(async () => (await bridgeStatus(b.wsUrl)).connected === true && (await bridgeStatus(a.wsUrl)).connected === true, CONVERGE_DEADLINE_MS, 'both bridges reconnected');
      const exactAt = await monitorB.settles(CROWD + 2, CONVERGE_DEADLINE_MS, 'B exact after the broker restart');
      assert.equal(monitorA.count(), CROWD + 2, 'and A');
      t.diagnostic(`broker restart with ${CROWD} on A: B exact ${exactAt - restartedAt} ms after the restart began (for good: ${STEADY_MS} ms steady); lowest count at B meanwhile ${lowest()}`);
      const list = await monitorB.listOnce();
      assert.deepEqual([...list.keys()].sort(), [...crowd.sessions, monitorA.session, monitorB.session].sort(), 'B\'s list is exactly the live sessions');

      const leftAt = Date.now();
      crowd.terminate();
      const [emptyB] = await Promise.all([
        monitorB.settles(2, BURST_DEADLINE_MS, 'everyone left, at B'),
        monitorA.settles(2, BURST_DEADLINE_MS, 'everyone left, at A'),
      ]);
      t.diagnostic(`then ${CROWD} closes: B exact after ${emptyB - leftAt} ms`);
      const retained = await s.retainedSettles('+', 2, 'only the two monitors\' records retained');
      assert.deepEqual(
        [...retained.keys()].sort(),
        [s.topic(`instances/A/connections/${monitorA.session}`), s.topic(`instances/B/connections/${monitorB.session}`)].sort(),
        'no stale retained record on the broker',
      );
      s.report(t, 'B', await bridgeStatus(b.wsUrl));
    });
  });

  test(`repro 4, late join: an instance started after A already holds ${CROWD} ends with the exact list`, async (t) => {
    await scenario(async (s) => {
      const [a] = await s.instances('A');
      const crowd = await s.crowd(a.wsUrl, CROWD);
      await s.retainedSettles('A', CROWD, 'A announced its crowd');
      const startedAt = Date.now();
      const [b] = await s.instances('B');
      const monitor = await s.monitor(b.wsUrl);
      const exactAt = await monitor.settles(CROWD + 1, CONVERGE_DEADLINE_MS, `late B counts ${CROWD} + its monitor`);
      t.diagnostic(`late join: B exact ${exactAt - startedAt} ms after it was started`);
      assert.deepEqual([...(await monitor.listOnce()).keys()].sort(), [...crowd.sessions, monitor.session].sort());
      await eventually(() => monitor.publishedCount() === CROWD + 1, 2_000, 'the count publication (from A\'s summary) agrees with the list');
      s.report(t, 'B', await bridgeStatus(b.wsUrl));
    });
  });

  test('repro 5, foreign remove: an empty retained payload under EVIL\'s topics never removes A\'s record from B\'s view', async () => {
    await scenario(async (s) => {
      const [a, b] = await s.instances('A', 'B');
      const crowd = await s.crowd(a.wsUrl, 3);
      const monitor = await s.monitor(b.wsUrl, { list: true });
      await eventually(() => crowd.sessions.every((id) => monitor.records().get(id)?.instanceId === 'A'), CONVERGE_DEADLINE_MS, 'A\'s records at B');
      const [removed, claimed] = crowd.sessions as [string, string, string];

      const evil = await s.intruder();
      const epoch = Date.now();
      await evil.publishAsync(s.topic('instances/EVIL/status'), JSON.stringify({ state: 'online', epoch }), { qos: 1, retain: true });
      // 1. A bare removal of A's session under EVIL's topics (the repro).
      await evil.publishAsync(s.topic(`instances/EVIL/connections/${removed}`), '', { qos: 1, retain: true });
      // 2. EVIL claims one of A's session ids, then withdraws its claim.
      await evil.publishAsync(s.topic(`instances/EVIL/connections/${claimed}`), recordPayload(claimed, 'EVIL', epoch), { qos: 1, retain: true });
      await evil.publishAsync(s.topic(`instances/EVIL/connections/${claimed}`), '', { qos: 1, retain: true });
      // A record of EVIL's own, last on the same subscription: once B shows it, B has handled the rest.
      await evil.publishAsync(s.topic('instances/EVIL/connections/evilmarker'), recordPayload('evilmarker', 'EVIL', epoch), { qos: 1, retain: true });
      await eventually(() => monitor.records().has('evilmarker'), 3_000, 'EVIL\'s own record at B');

      // Past a digest check (digestSettleMs 1 s): nothing "repairs" A's records away either.
      await monitor.settles(3 + 1 + 1, 2_000, 'A\'s 3, B\'s monitor and EVIL\'s own record', 1_200);
      const records = monitor.records();
      for (const id of crowd.sessions) assert.equal(records.get(id)?.instanceId, 'A', `A's ${id} still shown at B, as A's`);
      crowd.terminate();
      await monitor.settles(2, 3_000, 'A\'s clients gone', 100);
      await evil.publishAsync(s.topic('instances/EVIL/status'), JSON.stringify({ state: 'offline', epoch }), { qos: 1, retain: true });
      await monitor.settles(1, 3_000, 'EVIL gone', 100);
    });
  });

  test('repro 6, future epoch: a forged retained online status with epoch 9e15 does not hide A\'s records at B, is counted, and A\'s Will still drops them', async (t) => {
    await scenario(async (s) => {
      const [a, b] = await s.instances('A', 'B');
      await s.crowd(a.wsUrl, 3);
      const monitor = await s.monitor(b.wsUrl);
      await monitor.settles(4, CONVERGE_DEADLINE_MS, 'A\'s 3 records at B', 100);

      const evil = await s.intruder();
      await evil.publishAsync(s.topic('instances/A/status'), JSON.stringify({ state: 'online', epoch: 9e15 }), { qos: 1, retain: true });
      let status: BridgeStatusDoc = {};
      await eventually(async () => ((status = await bridgeStatus(b.wsUrl)).rejected?.['future epoch'] ?? 0) >= 1, 3_000, 'B counts the future epoch');
      t.diagnostic(`B's bridge status: rejected ${JSON.stringify(status.rejected)}`);
      await monitor.settles(4, 100, 'A\'s records still shown at B', 1_200);

      const killedAt = Date.now();
      await a.kill('SIGKILL');
      const goneAt = await monitor.settles(1, WILL_DEADLINE_MS, 'A\'s Will drops its records at B', 500);
      t.diagnostic(`SIGKILL A → B dropped its records after ${goneAt - killedAt} ms, the forged status notwithstanding`);
    });
  });

  test('repro 6, future epoch, for an instance that starts after the forgery: it still shows A\'s records (A must restore its own status)', async () => {
    await scenario(async (s) => {
      const [a] = await s.instances('A');
      await s.crowd(a.wsUrl, 3);
      await s.retainedSettles('A', 3, 'A announced its clients');
      const evil = await s.intruder();
      // The forged status replaces A's real retained `online`: a receiver that starts now never sees the real one...
      // QoS 1: once PUBACKed, the broker holds the forgery as A's retained status.
      await evil.publishAsync(s.topic('instances/A/status'), JSON.stringify({ state: 'online', epoch: 9e15 }), { qos: 1, retain: true });
      const [c] = await s.instances('C');
      const monitor = await s.monitor(c.wsUrl);
      // ...unless A, which owns that topic, puts its own status back (as it clears forged records under its topics).
      await monitor.settles(4, 5_000, 'C shows A\'s 3 records + its monitor', 200).catch(async (error) => {
        throw new Error(`${(error as Error).message}; A's retained status now: ${JSON.stringify(await s.status('A'))}`);
      });
    });
  });

  test('bridge status is live: a monitor subscribed to presence.bridgeStatus sees rejections as they are counted', async (t) => {
    await scenario(async (s) => {
      const [r] = await s.instances('R');
      const { client: monitor } = await s.client(r.wsUrl);
      monitor.send({ msg: 'sub', id: 'b', name: 'presence.bridgeStatus', params: [{ token: MONITOR_TOKEN }] });
      await monitor.until((f) => f.msg === 'ready' && (f.subs as string[]).includes('b'), 5_000);
      const live = () => Object.assign({}, ...monitor.frames.filter((f) => f.collection === 'presence.bridge').map((f) => f.fields)) as BridgeStatusDoc;
      const evil = await s.intruder();
      // Retained, so R gets them whenever its subscription lands.
      await evil.publishAsync(s.topic('instances/FAKE/connections/x1'), '{not json', { qos: 1, retain: true });
      await evil.publishAsync(s.topic('instances/FAKE/status'), JSON.stringify({ state: 'online', epoch: 9e15 }), { qos: 1, retain: true });
      let fresh: BridgeStatusDoc = {};
      await eventually(async () => ((fresh = await bridgeStatus(r.wsUrl)).rejected?.['future epoch'] ?? 0) >= 1 && (fresh.rejected?.['malformed JSON'] ?? 0) >= 1, 3_000, 'R counted both (read afresh)');
      t.diagnostic(`read afresh: rejected ${JSON.stringify(fresh.rejected)}; the subscribed monitor's copy: rejected ${JSON.stringify(live().rejected)}`);
      await eventually(() => (live().rejected?.['malformed JSON'] ?? 0) >= 1 && (live().rejected?.['future epoch'] ?? 0) >= 1, 2_000,
        () => `the subscribed monitor's bridge status to show them (it shows rejected ${JSON.stringify(live().rejected)})`);
    });
  });

  test('repro 7, caps: a fake instance\'s records past MQTT_MAX_REMOTE_RECORDS_PER_INSTANCE are refused and counted, real records stay exact; packets over MQTT_MAX_PACKET_BYTES are skipped unbuffered', async (t) => {
    await scenario(async (s) => {
      const PER_INSTANCE = 100;
      const FAKES = 1_000;
      const evil = await s.intruder();
      const epoch = Date.now();
      await evil.publishAsync(s.topic('instances/FAKE/status'), JSON.stringify({ state: 'online', epoch }), { qos: 1, retain: true });
      await Promise.all(Array.from({ length: FAKES }, (_, i) =>
        evil.publishAsync(s.topic(`instances/FAKE/connections/fake${i}`), recordPayload(`fake${i}`, 'FAKE', epoch), { qos: 1, retain: true })));
      const [a, receiver] = await s.instances('A', ['R', {
        MQTT_MAX_REMOTE_RECORDS_PER_INSTANCE: String(PER_INSTANCE),
        MQTT_MAX_REMOTE_RECORDS: String(4 * PER_INSTANCE),
        MQTT_MAX_PACKET_BYTES: String(64 * 1024),
      }]);
      const real = (await s.crowd(a.wsUrl, 80)).sessions;
      const monitor = await s.monitor(receiver.wsUrl);
      await monitor.settles(real.length + 1 + PER_INSTANCE, CONVERGE_DEADLINE_MS, `R counts A's ${real.length} + its monitor + FAKE's first ${PER_INSTANCE}`);
      const list = await monitor.listOnce();
      for (const id of real) assert.equal(list.get(id)?.instanceId, 'A', `A's ${id} at R`);
      assert.equal([...list.values()].filter((r) => r.instanceId === 'FAKE').length, PER_INSTANCE);
      const status = await bridgeStatus(receiver.wsUrl);
      assert.ok((status.rejected?.['record cap'] ?? 0) >= 1, `refusals counted: ${JSON.stringify(status.rejected)}`);
      assert.ok(receiver.output.some((l) => l.includes('Ignoring MQTT message: record cap')), 'and logged');
      t.diagnostic(`R refused ${status.rejected?.['record cap']} of FAKE's ${FAKES} records (cap ${PER_INSTANCE}); R holds ${status.remoteRecords} remote records`);

      // Oversized packets: R's peak RSS must grow by less than one packet (buffering one whole costs about twice
      // its size). Small packets cannot tell: the skipped 64 KiB reads are garbage that costs ~35 MB of peak RSS
      // until V8 collects it, whatever the packet's size.
      const BIG = 64 * 1024 * 1024;
      const pid = receiver.child.pid!;
      const before = memory(pid, { resetPeak: true });
      for (let i = 0; i < 2; i++) await evil.publishAsync(s.topic(`instances/FAKE/connections/big${i}`), Buffer.alloc(BIG, 'x'), { qos: 1 });
      let after: BridgeStatusDoc = {};
      await eventually(async () => ((after = await bridgeStatus(receiver.wsUrl)).rejected?.oversized ?? 0) >= 2, 10_000, 'R counts both oversized packets');
      const peak = memory(pid);
      const growth = peak.hwmKb - before.rssKb;
      t.diagnostic(`2 × ${BIG / 1024 / 1024} MiB packets: R's RSS ${before.rssKb} → ${peak.rssKb} kB, peak ${peak.hwmKb} kB (+${growth} kB); rejected ${JSON.stringify(after.rejected)}`);
      assert.ok(growth < BIG / 1024, `R's peak RSS grew by ${growth} kB for 2 × ${BIG / 1024 / 1024} MiB packets it should have skipped unbuffered`);
      // (bridgeStatus() connects a client of its own to R: give its close a moment to leave the count.)
      await monitor.settles(real.length + 1 + PER_INSTANCE, 3000, 'R still exact', 300);
    });
  });

  test('repro 8, shutdown with a frozen broker: SIGTERM exits within a few seconds; DDP sessions close', async (t) => {
    await scenario(async (s) => {
      const [a] = await s.instances('A');
      const crowd = await s.crowd(a.wsUrl, 5);
      await s.retainedSettles('A', 5, 'A announced its clients');
      await s.broker.freeze();
      try {
        const termAt = Date.now();
        const exited = new Promise<number>((resolve) => a.child.once('exit', () => resolve(Date.now() - termAt)));
        const closed = Promise.all(crowd.clients.map((c) => c.closed.then(() => Date.now() - termAt)));
        a.child.kill('SIGTERM');
        const exitMs = await Promise.race([exited, sleep(10_000).then(() => Infinity)]);
        const closedMs = Math.max(...(await Promise.race([closed, sleep(100).then(() => [Infinity])])));
        t.diagnostic(`SIGTERM with a frozen broker: exited after ${exitMs} ms; its DDP clients were all closed after ${closedMs} ms`);
        assert.ok(exitMs < 5_000, `exited after ${exitMs} ms`);
        assert.ok(closedMs <= exitMs + 100, 'every DDP session closed');
        assert.ok(a.output.some((l) => l.includes('did not confirm our goodbye in time')), 'the goodbye did meet the frozen broker');
      } finally {
        await s.broker.thaw();
      }
    });
  });

  test('repro 9 over MQTT: two instances on one store that refuses duplicate ids each show the other\'s connections, with no write error', async () => {
    await scenario(async (s) => {
      const shared = new MemoryCollection<ConnectedUser>('connectedUsers');
      const env = { MQTT_URL: s.broker.url, MQTT_TOPIC_PREFIX: s.prefix, MQTT_REMOTE_RECORDS: 'always' };
      const a = await startAppForTest({ ...env, PRESENCE_INSTANCE_ID: 'inst-A' }, { collection: shared });
      s.onTeardown(() => a.close());
      const b = await startAppForTest({ ...env, PRESENCE_INSTANCE_ID: 'inst-B' }, { collection: shared });
      s.onTeardown(() => b.close());
      const monitorA = await s.monitor(a.wsUrl, { list: true });
      const monitorB = await s.monitor(b.wsUrl, { list: true });
      const onA = await s.crowd(a.wsUrl, 2);
      const onB = await s.crowd(b.wsUrl, 3);
      const expected = new Map<string, string>([
        [monitorA.session, 'inst-A'], ...onA.sessions.map((id) => [id, 'inst-A'] as const),
        [monitorB.session, 'inst-B'], ...onB.sessions.map((id) => [id, 'inst-B'] as const),
      ]);
      for (const [name, monitor] of [['A', monitorA], ['B', monitorB]] as const) {
        await eventually(() => monitor.records().size === expected.size && monitor.count() === expected.size, 5_000, `all 7 at ${name}'s monitor`);
        for (const [id, fields] of monitor.records()) assert.equal(fields.instanceId, expected.get(id), `${id} at ${name}`);
      }
      assert.equal(await shared.find({}).countAsync(), expected.size, 'each record stored once, by its own instance');
      onA.terminate();
      onB.terminate();
      for (const monitor of [monitorA, monitorB]) await monitor.settles(2, 3_000, 'closes propagate', 100);
      // A failed record write logs an error (its cause, e.g. E11000 duplicate key, in the context); a collision is the view's warning.
      const writeProblems = (app: AppTestServer) => [...matching(app.logs, { level: 'error' }), ...matching(app.logs, { message: 'claim one session id' })];
      for (const app of [a, b]) assert.deepEqual(writeProblems(app), [], describeLogs(app.logs));
      assert.deepEqual(a.bridge!.status().rejected, {});
      assert.deepEqual(b.bridge!.status().rejected, {});
    });
  });

  /** The resources of one test. */
  class Scenario {
    /** The default prefix, as in the repros (each test has a broker of its own). */
    readonly prefix = 'presence';
    private readonly cleanups: Array<() => unknown> = [];

    constructor(readonly broker: TestBroker) {
      this.onTeardown(() => broker.stop());
    }

    topic(rest: string): string {
      return `${this.prefix}/${rest}`;
    }

    onTeardown(cleanup: () => unknown): void {
      this.cleanups.push(cleanup);
    }

    async teardown(): Promise<void> {
      for (const cleanup of this.cleanups.splice(0).reverse()) {
        try {
          await cleanup();
        } catch {
          // teardown goes on
        }
      }
    }

    /** Child-process instances, started together: an id, or [id, extra environment]. */
    async instances<const Specs extends Array<string | [string, Record<string, string>]>>(...specs: Specs): Promise<{ [K in keyof Specs]: AppProcess }> {
      return Promise.all(specs.map(async (spec) => {
        const [id, env] = typeof spec === 'string' ? [spec, {}] : spec;
        const app = await spawnApp({
          MQTT_URL: this.broker.url,
          MQTT_TOPIC_PREFIX: this.prefix,
          PRESENCE_INSTANCE_ID: id,
          PRESENCE_MONITOR_TOKEN: MONITOR_TOKEN,
          // These repros are about how held records converge: hold them always (on-demand: tests/mqtt/on-demand-records.test.ts).
          MQTT_REMOTE_RECORDS: 'always',
          ...env,
        });
        this.onTeardown(() => app.kill('SIGKILL'));
        return app;
      })) as Promise<{ [K in keyof Specs]: AppProcess }>;
    }

    async client(url: string): Promise<{ client: RawDdpClient; session: string }> {
      const opened = await RawDdpClient.connect(url);
      this.onTeardown(() => opened.client.ws.terminate());
      return opened;
    }

    /** `n` raw DDP clients, connected 100 at a time, spread over ADDRESSES source addresses. */
    async crowd(url: string, n: number): Promise<Crowd> {
      const clients: RawDdpClient[] = [];
      const sessions: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < n) {
          const k = next++;
          const { client, session } = await RawDdpClient.connect(url, {}, { localAddress: `127.0.0.${10 + (k % ADDRESSES)}` });
          clients.push(client);
          sessions.push(session);
        }
      };
      await Promise.all(Array.from({ length: Math.min(n, 100) }, worker));
      const terminate = () => {
        for (const client of clients) client.ws.terminate();
      };
      this.onTeardown(terminate);
      return { clients, sessions, terminate };
    }

    async monitor(url: string, { list = false } = {}): Promise<Monitor> {
      const monitor = await Monitor.open(url, list);
      this.onTeardown(() => monitor.client.ws.terminate());
      return monitor;
    }

    async intruder(): Promise<mqtt.MqttClient> {
      const client = await mqtt.connectAsync(this.broker.url, { clientId: `intruder-${randomUUID().slice(0, 8)}` });
      this.onTeardown(() => client.endAsync(true));
      return client;
    }

    /** The retained, non-empty messages under `<prefix>/instances/<pattern>/connections/+`, or a full filter. */
    async retained(filter: string): Promise<Map<string, Buffer>> {
      const full = filter.includes('/') ? this.topic(filter) : this.topic(`instances/${filter}/connections/+`);
      return probeRetained(this.broker.url, full);
    }

    /** Waits until the broker holds exactly `count` retained records of `instance` ('+': all instances). */
    async retainedSettles(instance: string, count: number, what: string): Promise<Map<string, Buffer>> {
      let records = new Map<string, Buffer>();
      await eventually(async () => (records = await this.retained(instance)).size === count, CONVERGE_DEADLINE_MS, () => `${what} (probe saw ${records.size}, want ${count})`);
      return records;
    }

    /** An instance's retained status, as the broker holds it now. */
    async status(instance: string): Promise<{ state: string; epoch: number } | undefined> {
      const found = await probeRetained(this.broker.url, this.topic(`instances/${instance}/status`));
      const payload = found.values().next().value as Buffer | undefined;
      return payload ? JSON.parse(payload.toString()) : undefined;
    }

    report(t: TestContext, name: string, status: BridgeStatusDoc): void {
      t.diagnostic(`${name}'s bridge status through ${brokerName}: resyncs ${status.resyncs}, rejected ${JSON.stringify(status.rejected)}`);
    }
  }
}

interface Crowd {
  clients: RawDdpClient[];
  sessions: string[];
  terminate(): void;
}

interface BridgeStatusDoc {
  connected?: boolean;
  resyncs?: number;
  remoteRecords?: number;
  rejected?: Record<string, number>;
}

/**
 * A monitor's DDP client: the list and the count, as the server sent them.
 * `count()` is the size of the list: these repros are about how the records
 * an instance holds converge, and since issue 12 the count publication is
 * computed from the instances' summaries instead (`publishedCount()`), so it
 * would converge even if the records did not.
 */
class Monitor {
  private listSubs = 0;
  private readonly view = new Map<string, Record<string, unknown>>();
  private framesSeen = 0;

  private constructor(readonly client: RawDdpClient, readonly session: string) {}

  static async open(url: string, list: boolean): Promise<Monitor> {
    const { client, session } = await RawDdpClient.connect(url);
    const monitor = new Monitor(client, session);
    client.send({ msg: 'sub', id: 'count', name: 'list.connectedUsers.count' });
    await client.until((f) => f.msg === 'ready' && (f.subs as string[]).includes('count'), 5_000);
    void list; // every monitor watches the list now (see the class comment)
    await monitor.subscribeList();
    return monitor;
  }

  /** How many records the list holds. */
  count(): number | undefined {
    return this.records().size;
  }

  /** The count publication's latest value (from the instances' summaries). */
  publishedCount(): number | undefined {
    const frames = this.client.frames;
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i]!;
      if (f.collection === 'connectedUsers.count') return (f.fields as { count?: number } | undefined)?.count;
    }
    return undefined;
  }

  /** The list as the server has sent it so far (subscribed with `list: true` or by `listOnce`). */
  records(): Map<string, Record<string, unknown>> {
    const frames = this.client.frames;
    for (; this.framesSeen < frames.length; this.framesSeen++) {
      const f = frames[this.framesSeen]!;
      if (f.collection !== 'connectedUsers') continue;
      if (f.msg === 'added') this.view.set(f.id as string, { ...(f.fields as object) });
      if (f.msg === 'changed') Object.assign(this.view.get(f.id as string) ?? {}, f.fields);
      if (f.msg === 'removed') this.view.delete(f.id as string);
    }
    return new Map(this.view);
  }

  /** Subscribe to the list now (if not yet), wait for its first full set, and return it. */
  async listOnce(): Promise<Map<string, Record<string, unknown>>> {
    if (this.listSubs === 0) await this.subscribeList();
    return this.records();
  }

  /**
   * Waits until the count equals `expected` and then holds for `steadyMs`
   * (no late ghost appears, no live record vanishes); that exact period must
   * begin within `withinMs`. Returns when it began (Date.now() then).
   */
  async settles(expected: number, withinMs: number, what: string, steadyMs = STEADY_MS): Promise<number> {
    const start = Date.now();
    let since: number | null = null;
    for (;;) {
      const now = Date.now();
      if (this.count() === expected) {
        if (since === null && now - start > withinMs) break;
        since ??= now;
        if (now - since >= steadyMs) return since;
      } else {
        since = null;
        if (now - start > withinMs) break;
      }
      await sleep(10);
    }
    throw new Error(`${what}: the count did not settle at ${expected} within ${withinMs} ms (held ${steadyMs} ms); last count ${this.count()}`);
  }

  /** The lowest count seen from now until the returned function is called, sampled every 10 ms. */
  trackLowest(): () => number {
    let lowest = this.count() ?? 0;
    const timer = setInterval(() => (lowest = Math.min(lowest, this.count() ?? 0)), 10);
    timer.unref();
    return () => {
      clearInterval(timer);
      return lowest;
    };
  }

  private async subscribeList(): Promise<void> {
    const id = `list${++this.listSubs}`;
    this.client.send({ msg: 'sub', id, name: 'list.connectedUsers', params: [{ token: MONITOR_TOKEN }] });
    await this.client.until((f) => f.msg === 'ready' && (f.subs as string[]).includes(id), 10_000);
  }
}

/** A bridge's status as a monitor gets it on subscribing (read afresh each time). */
async function bridgeStatus(wsUrl: string): Promise<BridgeStatusDoc> {
  const { client } = await RawDdpClient.connect(wsUrl);
  try {
    client.send({ msg: 'sub', id: 'b', name: 'presence.bridgeStatus', params: [{ token: MONITOR_TOKEN }] });
    await client.until((f) => f.msg === 'ready' && (f.subs as string[]).includes('b'), 5_000);
    return Object.assign({}, ...client.frames.filter((f) => f.collection === 'presence.bridge').map((f) => f.fields)) as BridgeStatusDoc;
  } finally {
    client.ws.terminate();
  }
}

/**
 * The broker's retained, non-empty messages matching `filter`, through a
 * probe client subscribed at QoS 0. A marker published after the SUBACK ends
 * the read (the broker queues it behind the retained set), then a short
 * silence (aedes streams its retained set asynchronously).
 */
async function probeRetained(url: string, filter: string): Promise<Map<string, Buffer>> {
  const probe = await mqtt.connectAsync(url, { clientId: `probe-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0 });
  const marker = `probe-end/${probe.options.clientId}`;
  const found = new Map<string, Buffer>();
  let lastMessageAt = Date.now();
  let markerSeen = false;
  probe.on('message', (topic, payload) => {
    lastMessageAt = Date.now();
    if (topic === marker) markerSeen = true;
    else if (payload.length > 0) found.set(topic, payload);
    else found.delete(topic);
  });
  try {
    await probe.subscribeAsync({ [filter]: { qos: 0 }, [marker]: { qos: 0 } });
    await probe.publishAsync(marker, 'end', { qos: 0 });
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline && !(markerSeen && Date.now() - lastMessageAt > 150)) await sleep(20);
    return found;
  } finally {
    await probe.endAsync(true);
  }
}

/** A record in the bridge's wire format: EJSON `{"e": <run epoch>, "r": <record>}`. */
function recordPayload(sessionId: string, instanceId: string, epoch: number): string {
  return JSON.stringify({ e: epoch, r: { _id: sessionId, userId: sessionId, connectedAt: { $date: epoch }, instanceId } });
}

/**
 * A process's resident set (VmRSS) and its peak (VmHWM), in kB, from
 * /proc/<pid>/status. `resetPeak` first resets VmHWM to the current RSS
 * (writing 5 to /proc/<pid>/clear_refs, Linux ≥ 4.0).
 */
function memory(pid: number, { resetPeak = false } = {}): { rssKb: number; hwmKb: number } {
  if (resetPeak) writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1]);
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

