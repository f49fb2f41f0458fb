import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectedUser } from '../../imports/app/host';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';

const LIST = 'list.connectedUsers';
const HOUR = 3600_000;

/** The ids a raw client holds in connectedUsers, rebuilt from its frames; throws on an impossible sequence. */
function heldIds(client: RawDdpClient): Set<string> {
  const ids = new Set<string>();
  for (const f of client.frames) {
    if (f.collection !== 'connectedUsers') continue;
    const id = f.id as string;
    if (f.msg === 'added') {
      assert.ok(!ids.has(id), `added twice: ${id}`);
      ids.add(id);
    } else if (f.msg === 'removed') assert.ok(ids.delete(id), `removed before added: ${id}`);
    else if (f.msg === 'changed') assert.ok(ids.has(id), `changed before added: ${id}`);
  }
  return ids;
}

async function subscribeMonitor(app: AppTestServer, params: Record<string, unknown>, id = 'm') {
  const { client, session } = await RawDdpClient.connect(app.wsUrl);
  client.send({ msg: 'sub', id, name: LIST, params: [{ token: MONITOR_TOKEN, ...params }] });
  await client.until((f) => (f.msg === 'ready' && (f.subs as string[]).includes(id)) || f.msg === 'nosub', 5000);
  return { client, session };
}

describe('list.connectedUsers for monitors: options, live window, batched initial send', () => {
  let app: AppTestServer;
  let instanceId: string;
  /** Fake records straight into the store (the view follows it), in the far future so `newest` ranks them first. */
  const insert = (id: string, offsetSeconds: number, userAgent: string) =>
    app.collection.insertAsync({
      _id: id, userId: id, connectedAt: new Date(Date.now() + HOUR + offsetSeconds * 1000), userAgent, instanceId,
    } as ConnectedUser);

  before(async () => {
    app = await startAppForTest();
    await app.presence!.started;
    instanceId = app.config.presence.instanceId;
  });
  after(() => app.close());

  test('limit + search + sort newest: the first `limit` matches, and the window stays live', async () => {
    for (let i = 0; i < 10; i++) await insert(`win-${i}`, i, `WinTest/${i}`);
    await insert('other-1', 100, 'SomethingElse');
    const { client } = await subscribeMonitor(app, { search: 'wintest', sort: 'newest', limit: 3 });
    assert.deepEqual([...heldIds(client)].sort(), ['win-7', 'win-8', 'win-9']);
    const added = client.frames.find((f) => f.msg === 'added' && f.id === 'win-9')!;
    assert.deepEqual(Object.keys(added.fields as object).sort(), ['connectedAt', 'instanceId', 'userAgent', 'userId']);

    await app.collection.removeAsync({ _id: 'win-8' }); // leaves: the next match (win-6) enters
    await waitFor(() => heldIds(client).has('win-6'), 2000, 'win-6 replaces win-8');
    await insert('win-new', 50, 'wintest/new'); // newer: enters at the top, the last (win-6) leaves
    await waitFor(() => heldIds(client).has('win-new'), 2000, 'win-new enters');
    await insert('win-old', -50, 'WINTEST/old'); // older than the window: never sent
    await app.collection.removeAsync({ _id: 'win-3' }); // outside the window: nothing
    await client.expectSilence(100);
    assert.deepEqual([...heldIds(client)].sort(), ['win-7', 'win-9', 'win-new']);
    assert.ok(!client.rawFrames.join('\n').includes('win-old'));
    client.close();
  });

  test('sort oldest, instanceId filter, and a filtered list without limit', async () => {
    const oldest = await subscribeMonitor(app, { search: 'wintest/', sort: 'oldest', limit: 2 }, 'o');
    assert.deepEqual([...heldIds(oldest.client)].sort(), ['win-0', 'win-old']);
    const filtered = await subscribeMonitor(app, { search: 'WINTEST/NEW' }, 'f');
    assert.deepEqual([...heldIds(filtered.client)], ['win-new']);
    const none = await subscribeMonitor(app, { instanceId: 'no-such-instance', limit: 10 }, 'n');
    assert.deepEqual([...heldIds(none.client)], []);
    const mine = await subscribeMonitor(app, { instanceId, search: 'win-', limit: 1000 }, 'i');
    assert.equal(heldIds(mine.client).size, 10);
    for (const c of [oldest, filtered, none, mine]) c.client.close();
  });

  test('invalid options: a monitor gets nosub with a 400; a non-monitor still gets its own record', async () => {
    const { client } = await RawDdpClient.connect(app.wsUrl);
    const bad = [{ limit: 0 }, { limit: 1001 }, { sort: 'sideways' }, { search: 'x'.repeat(201) }, { search: 5 }];
    for (const [i, options] of bad.entries()) {
      client.send({ msg: 'sub', id: `b${i}`, name: LIST, params: [{ token: MONITOR_TOKEN, ...options }] });
      const nosub = await client.until((f) => f.msg === 'nosub' && f.id === `b${i}`);
      assert.equal((nosub.error as { error: number }).error, 400, JSON.stringify(nosub));
    }
    assert.equal(client.frames.filter((f) => f.msg === 'added').length, 0, 'nothing published');
    const viewer = await RawDdpClient.connect(app.wsUrl);
    viewer.client.send({ msg: 'sub', id: 's', name: LIST, params: [{ token: 'wrong', limit: 0, search: 5 }] });
    await viewer.client.until((f) => f.msg === 'ready');
    assert.deepEqual([...heldIds(viewer.client)], [viewer.session]);
    client.close();
    viewer.client.close();
  });

  test('a big initial set goes out in batches: a bystander\'s ping is answered before the monitor is ready', async () => {
    const N = 3000;
    await Promise.all(Array.from({ length: N }, (_, i) => insert(`big-${i}`, -1000 - i, 'bulk')));
    const bystander = await RawDdpClient.connect(app.wsUrl);
    const { client: monitor } = await RawDdpClient.connect(app.wsUrl);
    /** One log of both sockets' frames, in the order this process read them. */
    const order: string[] = [];
    let pinged = false;
    monitor.ws.on('message', (data) => {
      const f = JSON.parse(data.toString());
      if (f.msg === 'ready') order.push('monitor ready');
      else if (f.msg === 'added') {
        order.push('monitor added');
        if (!pinged) {
          pinged = true;
          bystander.client.send({ msg: 'ping', id: 'p1' });
        }
      }
    });
    bystander.client.ws.on('message', (data) => {
      if (JSON.parse(data.toString()).msg === 'pong') order.push('bystander pong');
    });
    monitor.send({ msg: 'sub', id: 'all', name: LIST, params: [{ token: MONITOR_TOKEN }] });
    await monitor.until((f) => f.msg === 'ready', 8000);
    const total = (await app.collection.find({}).fetchAsync()).length;
    assert.equal(heldIds(monitor).size, total, 'every record');
    const pong = order.indexOf('bystander pong');
    assert.ok(pong > 0, 'the pong came');
    const addedAfterPong = order.slice(pong).filter((e) => e === 'monitor added').length;
    // Not a timing: the pong is interleaved with the monitor's batches, not queued behind all of them.
    assert.ok(pong < order.indexOf('monitor ready'), 'before ready');
    assert.ok(addedAfterPong > 0, `while the initial set was still going out (after ${pong} of ${total} added)`);
    monitor.close();
    bystander.client.close();
  });

  test('records removed while the initial batches go out are never sent after removal', async () => {
    const { client: monitor } = await RawDdpClient.connect(app.wsUrl);
    let removing: Promise<unknown> | null = null;
    monitor.ws.on('message', (data) => {
      if (removing || JSON.parse(data.toString()).msg !== 'added') return;
      // Some already sent, most still queued: the first and last thousand of the bulk.
      const ids = [...Array.from({ length: 1000 }, (_, i) => `big-${i}`), ...Array.from({ length: 1000 }, (_, i) => `big-${2999 - i}`)];
      removing = Promise.all(ids.map((id) => app.collection.removeAsync({ _id: id })));
    });
    monitor.send({ msg: 'sub', id: 'all', name: LIST, params: [{ token: MONITOR_TOKEN }] });
    await monitor.until((f) => f.msg === 'ready', 8000);
    await removing;
    const expected = new Set((await app.collection.find({}).fetchAsync()).map((r) => r._id));
    await waitFor(() => heldIds(monitor).size === expected.size, 3000, 'the monitor converges');
    assert.deepEqual([...heldIds(monitor)].sort(), [...expected].sort());
    const removedIds = monitor.frames.filter((f) => f.msg === 'removed').map((f) => f.id as string);
    assert.ok(removedIds.length < 2000, 'queued records were dropped, not sent and removed');
    monitor.close();
  });
});
