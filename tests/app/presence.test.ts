import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import simpleDDP from 'simpleddp';
import WebSocket from 'ws';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';

const LIST = 'list.connectedUsers';

/** Subscribe a raw client and return the ids it currently holds in connectedUsers. */
function liveIds(client: RawDdpClient): Set<string> {
  const ids = new Set<string>();
  for (const f of client.frames) {
    if (f.collection !== 'connectedUsers') continue;
    if (f.msg === 'added') ids.add(f.id as string);
    if (f.msg === 'removed') ids.delete(f.id as string);
  }
  return ids;
}

describe('presence: ConnectedUsers, getSessionId, list.connectedUsers', () => {
  let app: AppTestServer;
  before(async () => (app = await startAppForTest()));
  after(() => app.close());

  test('getSessionId equals the session of the connected frame (raw ws and simpleddp)', async () => {
    const { client, session } = await RawDdpClient.connect(app.wsUrl);
    client.send({ msg: 'method', id: '1', method: 'getSessionId', params: [] });
    assert.equal((await client.until((f) => f.msg === 'result')).result, session);
    client.close();

    const sd = new simpleDDP({ endpoint: app.wsUrl, SocketConstructor: WebSocket, reconnectInterval: 100 });
    await sd.connect();
    const id = await sd.call('getSessionId');
    assert.equal(typeof id, 'string');
    assert.equal(id.length, 17);
    assert.ok((await app.collection.findOneAsync({ _id: id })) !== undefined, 'its record exists');
    await sd.disconnect();
  });

  test('N clients connect: a monitor sees N+1 records live, with every field', async () => {
    const { client: monitor, session: monitorId } = await RawDdpClient.connect(app.wsUrl);
    monitor.send({ msg: 'sub', id: 'm', name: LIST, params: [{ token: MONITOR_TOKEN }] });
    await monitor.until((f) => f.msg === 'ready');
    const N = 5;
    const clients = await Promise.all(Array.from({ length: N }, () => RawDdpClient.connect(app.wsUrl, { 'user-agent': 'agent-x' })));
    await waitFor(() => liveIds(monitor).size === N + 1, 2000, 'N+1 records at the monitor');
    assert.ok(liveIds(monitor).has(monitorId));
    const one = monitor.frames.find((f) => f.msg === 'added' && f.id === clients[0]!.session)!;
    const fields = one.fields as Record<string, unknown>;
    assert.deepEqual(Object.keys(fields).sort(), ['clientAddress', 'connectedAt', 'instanceId', 'userAgent', 'userId']);
    assert.equal(fields.userId, clients[0]!.session);
    assert.equal(fields.userAgent, 'agent-x');
    assert.equal(fields.clientAddress, '127.0.0.1');
    assert.equal(fields.instanceId, app.config.presence.instanceId);
    assert.ok(typeof (fields.connectedAt as { $date: number }).$date === 'number', 'connectedAt is an EJSON date');
    for (const c of clients) c.client.close();
    await waitFor(() => liveIds(monitor).size === 1, 2000, 'back to the monitor alone');
    monitor.close();
  });

  test('each non-monitor sees only itself, without clientAddress, in every frame it receives', async () => {
    const others = await Promise.all([1, 2, 3].map(() => RawDdpClient.connect(app.wsUrl)));
    const viewers = await Promise.all([1, 2, 3].map(() => RawDdpClient.connect(app.wsUrl)));
    const params = [[], [{ token: 'wrong' }], [{ token: 42 }], ['garbage'], [null], [{ token: MONITOR_TOKEN + 'x' }]];
    for (const [i, v] of viewers.entries()) {
      v.client.send({ msg: 'sub', id: 's', name: LIST, params: params[i % params.length] });
      v.client.send({ msg: 'sub', id: 'c', name: 'list.connectedUsers.count' });
    }
    await Promise.all(viewers.map((v) => v.client.until((f) => f.msg === 'ready' && (f.subs as string[])[0] === 'c')));
    const churn = await RawDdpClient.connect(app.wsUrl); // a connect and close while they watch
    const churnRecord = () => app.collection.findOneAsync({ _id: churn.session });
    await waitFor(async () => (await churnRecord()) !== undefined, 2000, 'the churn recorded');
    churn.client.close();
    await waitFor(async () => (await churnRecord()) === undefined, 2000, 'the churn removed');
    // The store's observers send at once; a call's result on each viewer follows anything sent to it before.
    for (const v of viewers) assert.equal((await v.client.call('getSessionId')).result, v.session);
    for (const v of viewers) {
      assert.deepEqual([...liveIds(v.client)], [v.session]);
      const everything = v.client.rawFrames.join('\n');
      for (const other of [...others, ...viewers, churn]) {
        if (other.session !== v.session) assert.ok(!everything.includes(other.session), `leaked ${other.session}`);
      }
      assert.ok(!everything.includes('clientAddress'), 'no clientAddress for non-monitors');
      assert.ok(!everything.includes('127.0.0.1'));
    }
    for (const c of [...others, ...viewers]) c.client.close();
  });

  for (const [label, params] of [['a wrong token', [{ token: 'nope' }]], ['params of the wrong shape', [{ token: { $gt: '' } }]]] as const) {
    test(`${label}: the non-monitor view, and presence.role says 'self'`, async () => {
      const { client, session } = await RawDdpClient.connect(app.wsUrl);
      client.send({ msg: 'method', id: 'r', method: 'presence.role', params });
      assert.equal((await client.until((f) => f.msg === 'result')).result, 'self');
      client.send({ msg: 'sub', id: 's', name: LIST, params });
      await client.until((f) => f.msg === 'ready');
      assert.deepEqual([...liveIds(client)], [session]);
      client.close();
    });
  }

  test('presence.role says monitor for the right token', async () => {
    const { client } = await RawDdpClient.connect(app.wsUrl);
    client.send({ msg: 'method', id: 'r', method: 'presence.role', params: [{ token: MONITOR_TOKEN }] });
    assert.equal((await client.until((f) => f.msg === 'result')).result, 'monitor');
    client.close();
  });

  test('a clean close reaches the monitor as `removed` within 100 ms', async () => {
    const { client: monitor } = await RawDdpClient.connect(app.wsUrl);
    monitor.send({ msg: 'sub', id: 'm', name: LIST, params: [{ token: MONITOR_TOKEN }] });
    await monitor.until((f) => f.msg === 'ready');
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { client, session } = await RawDdpClient.connect(app.wsUrl);
      await monitor.until((f) => f.msg === 'added' && f.id === session);
      const closedAt = performance.now();
      client.close();
      await monitor.until((f) => f.msg === 'removed' && f.id === session, 1000);
      latencies.push(performance.now() - closedAt);
    }
    const worst = Math.max(...latencies);
    assert.ok(worst < 100, `worst close→removed ${worst.toFixed(1)} ms`);
    monitor.close();
  });

  test('the count publication is live and right after 1,000 connects and closes', async () => {
    const { client: watcher } = await RawDdpClient.connect(app.wsUrl);
    watcher.send({ msg: 'sub', id: 'c', name: 'list.connectedUsers.count' });
    const first = await watcher.next();
    assert.deepEqual(first, { msg: 'added', collection: 'connectedUsers.count', id: 'total', fields: { count: 1 } });
    for (let batch = 0; batch < 20; batch++) {
      const group = await Promise.all(Array.from({ length: 50 }, () => RawDdpClient.connect(app.wsUrl)));
      for (const c of group) c.client.close();
      await Promise.all(group.map((c) => c.client.closed));
    }
    await waitFor(async () => (await app.collection.find().countAsync()) === 1, 3000, 'only the watcher left');
    await waitFor(() => {
      const last = watcher.frames.filter((f) => f.collection === 'connectedUsers.count').at(-1);
      return (last?.fields as { count?: number } | undefined)?.count === 1;
    }, 1000, 'the last coalesced count push');
    const counts = watcher.frames.filter((f) => f.collection === 'connectedUsers.count').map((f) => (f.fields as { count: number }).count);
    assert.equal(counts.at(-1), 1);
    assert.equal(app.presence!.liveCount.value, 1);
    assert.ok(counts.length < 1000, `coalesced: ${counts.length} count frames for 2,000 events`);
    watcher.close();
  });

  test('nothing is left in the store when everyone has gone', async () => {
    await waitFor(async () => (await app.collection.find().countAsync()) === 0, 2000, 'empty store');
    assert.equal(app.ddp.sessionCount, 0);
  });
});

