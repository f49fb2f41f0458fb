import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import simpleDDP from 'simpleddp';
import WebSocket from 'ws';
import type { ConnectionHandle } from '../../imports/ddp/connection-handle';
import { MemoryCollection } from '../../imports/store/memory-collection';
import { waitFor } from '../helpers/app-test-server';
import { describeLogs, matching } from '../helpers/capture-logger';
import { liveRecords, RawDdpClient } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

/**
 * `this.setUserId`, DdpServer.setUserIdOf and onUserIdChange, against
 * Meteor's _setUserId (livedata_server.js): subscriptions rerun under the new
 * user and the client gets only the diff, before the method's `updated`.
 */

type Deferred = { promise: Promise<void>; resolve(): void };
const deferred = (): Deferred => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What 'mine' publishes for `userId`: one document common to every user, one whose fields differ, one per user. */
function mineFor(userId: string | null): Map<string, Record<string, unknown>> {
  if (userId === null) {
    return new Map<string, Record<string, unknown>>([
      ['common', { shared: 1 }],
      ['anon', { x: 1 }],
      ['profile', { name: 'anon', anonOnly: true, v: 1 }],
    ]);
  }
  return new Map<string, Record<string, unknown>>([
    ['common', { shared: 1 }],
    ['profile', { name: userId, v: 1 }],
    [`private-${userId}`, { owner: userId }],
  ]);
}

describe('setUserId (Meteor _setUserId semantics)', () => {
  let server: TestServer;
  const accounts = new MemoryCollection<{ _id: string; userId: string | null }>('accounts');
  const events: string[] = [];
  let gate = deferred();
  let slowStarted = deferred();
  let rerunGate: Deferred | null = null;
  const openClients: RawDdpClient[] = [];

  before(async () => {
    server = await startTestServer((meteor) => {
      meteor.methods({
        async login(userId: string | null) {
          await this.setUserId(userId);
          return this.userId;
        },
        loginNoAwait(userId: string | null) {
          void this.setUserId(userId);
          return this.userId;
        },
        setMany(count: number) {
          for (let i = 0; i < count; i++) void this.setUserId(`u${i}`);
          return this.userId;
        },
        setThenUnblock(userId: string) {
          void this.setUserId(userId);
          this.unblock();
          return userId;
        },
        whoami() {
          return this.userId;
        },
        unblockThenSet() {
          this.unblock();
          try {
            void this.setUserId('sneaky');
          } catch (error) {
            return (error as Error).message;
          }
          return 'no throw';
        },
        unblockThenSetUncaught() {
          this.unblock();
          return this.setUserId('sneaky');
        },
        setBad(value: unknown) {
          try {
            void this.setUserId(value as string);
          } catch (error) {
            return (error as Error).message;
          }
          return 'no throw';
        },
        async slow() {
          slowStarted.resolve();
          await gate.promise;
          return 'slow done';
        },
      });
      meteor.publish('mine', function () {
        const uid = this.userId;
        events.push(`mine:${uid}`);
        for (const [id, fields] of mineFor(uid)) this.added('docs', id, fields);
        this.onStop(() => events.push(`stop mine:${uid}`));
        this.ready();
      });
      meteor.publish('guarded', function () {
        if (this.userId) throw new meteor.Error('logged-in', 'Only for anonymous users');
        this.added('guardedDocs', 'g', { a: 1 });
        this.ready();
      });
      meteor.publish('who', function () {
        this.added('who', this.connection.id, { userId: this.userId });
        this.ready();
      });
      meteor.publish('account', function () {
        return accounts.find({ _id: this.connection.id }) as never;
      });
      meteor.publish('gated', async function () {
        const uid = this.userId;
        if (uid !== null && rerunGate) await rerunGate.promise;
        this.added('gatedDocs', 'g', { uid });
        this.ready();
        events.push(`gated done:${uid}`);
      });
      // Sends its initial set over later event-loop turns: documents after the diff flow normally.
      meteor.publish('trickle', function () {
        const uid = this.userId;
        this.ready();
        const timer = setTimeout(() => this.added('trickleDocs', `t-${uid}`, { uid }), 30);
        this.onStop(() => clearTimeout(timer));
      });
    });
  });
  after(() => server.close());
  afterEach(async () => {
    for (const client of openClients.splice(0)) client.close();
    // Closed sessions run their onStop callbacks a turn later: let them land before the next test's events.
    await waitFor(() => server.ddp.sessionCount === 0, 2000, 'every session closed');
    await new Promise((r) => setImmediate(r));
    events.length = 0;
    gate = deferred();
    slowStarted = deferred();
    rerunGate = null;
  });

  const errorCount = () => matching(server.logs, { level: 'error' }).length;
  /** The error records whose attached error has `message`. */
  const errorsWith = (query: Parameters<typeof matching>[1], message: string) =>
    matching(server.logs, { ...query, level: 'error' }).filter((r) => (r.context?.error as Error | undefined)?.message === message);

  async function connect(): Promise<{ client: RawDdpClient; session: string }> {
    const opened = await RawDdpClient.connect(server.wsUrl);
    openClients.push(opened.client);
    return opened;
  }

  async function subscribe(client: RawDdpClient, id: string, name: string): Promise<void> {
    client.send({ msg: 'sub', id, name, params: [] });
    await client.until((f) => (f.msg === 'ready' && (f.subs as string[]).includes(id)) || (f.msg === 'nosub' && f.id === id));
  }

  async function call(client: RawDdpClient, id: string, method: string, ...params: unknown[]): Promise<Record<string, unknown>> {
    client.send({ msg: 'method', id, method, params });
    return client.until((f) => f.msg === 'result' && f.id === id);
  }

  /** The frames up to and including the method's result, consumed. */
  async function framesUntilResult(client: RawDdpClient, id: string): Promise<Array<Record<string, unknown>>> {
    const frames: Array<Record<string, unknown>> = [];
    for (;;) {
      const frame = await client.next();
      frames.push(frame);
      if (frame.msg === 'result' && frame.id === id) return frames;
    }
  }

  test('a method calling setUserId: the rerun sends only the diff, then ready, then updated, then result', async () => {
    const { client } = await connect();
    await subscribe(client, 's1', 'mine');
    client.send({ msg: 'method', id: 'm1', method: 'login', params: ['u1'] });
    assert.deepEqual(await framesUntilResult(client, 'm1'), [
      { msg: 'removed', collection: 'docs', id: 'anon' },
      { msg: 'changed', collection: 'docs', id: 'profile', fields: { name: 'u1' }, cleared: ['anonOnly'] },
      { msg: 'added', collection: 'docs', id: 'private-u1', fields: { owner: 'u1' } },
      { msg: 'ready', subs: ['s1'] },
      { msg: 'updated', methods: ['m1'] },
      { msg: 'result', id: 'm1', result: 'u1' },
    ]);
    assert.deepEqual(liveRecords(client, 'docs'), mineFor('u1'));
    assert.deepEqual(events, ['mine:null', 'stop mine:null', 'mine:u1'], 'onStop of the old run, then the rerun');
  });

  test('updated waits for the rerun even when the handler does not await setUserId', async () => {
    const { client } = await connect();
    await subscribe(client, 's1', 'mine');
    client.send({ msg: 'method', id: 'm1', method: 'loginNoAwait', params: ['u2'] });
    const frames = await framesUntilResult(client, 'm1');
    assert.deepEqual(frames.map((f) => f.msg), ['removed', 'changed', 'added', 'ready', 'updated', 'result']);
    assert.equal(frames.at(-1)!.result, 'u2', 'this.userId reads the new value at once');
  });

  test('this.userId after setUserId: in the method, later methods and new subscriptions; back to null only by setUserId(null)', async () => {
    const { client, session } = await connect();
    assert.equal((await call(client, 'w0', 'whoami')).result, null);
    assert.equal((await call(client, 'm1', 'login', 'u1')).result, 'u1');
    assert.equal((await call(client, 'w1', 'whoami')).result, 'u1');
    client.send({ msg: 'sub', id: 'w', name: 'who', params: [] });
    assert.deepEqual(await client.until((f) => f.msg === 'added'), { msg: 'added', collection: 'who', id: session, fields: { userId: 'u1' } });
    assert.equal((await call(client, 'm2', 'login', null)).result, null);
    assert.equal((await call(client, 'w2', 'whoami')).result, null);
    assert.equal(liveRecords(client, 'who').get(session)?.userId, null);
  });

  test('setting the same userId reruns the subscriptions (as Meteor does): no data frames, a ready again', async () => {
    const { client } = await connect();
    await call(client, 'm1', 'login', 'u1');
    await subscribe(client, 's1', 'mine');
    client.send({ msg: 'method', id: 'm2', method: 'login', params: ['u1'] });
    assert.deepEqual(await framesUntilResult(client, 'm2'), [
      { msg: 'ready', subs: ['s1'] },
      { msg: 'updated', methods: ['m2'] },
      { msg: 'result', id: 'm2', result: 'u1' },
    ]);
    assert.deepEqual(events, ['mine:u1', 'stop mine:u1', 'mine:u1']);
  });

  test('setUserId after unblock throws Meteor\'s message; uncaught, the client gets a 500 and the server logs it', async () => {
    const { client } = await connect();
    assert.equal((await call(client, 'm1', 'unblockThenSet')).result, "Can't call setUserId in a method after calling unblock");
    const uncaught = await call(client, 'm2', 'unblockThenSetUncaught');
    assert.equal((uncaught.error as { error: number }).error, 500);
    const logged = errorsWith({ message: "Exception while invoking method 'unblockThenSetUncaught'" }, "Can't call setUserId in a method after calling unblock");
    assert.equal(logged.length, 1, describeLogs(server.logs));
    assert.equal((await call(client, 'w', 'whoami')).result, null, 'nothing changed');
  });

  test('a userId that is neither a string nor null throws Meteor\'s message and changes nothing', async () => {
    const { client } = await connect();
    assert.equal((await call(client, 'm1', 'setBad', 5)).result, 'setUserId must be called on string or null, not number');
    assert.equal((await call(client, 'm2', 'setBad', { id: 'x' })).result, 'setUserId must be called on string or null, not object');
    assert.equal((await call(client, 'w', 'whoami')).result, null);
  });

  test('a handler that throws on rerun sends nosub for that sub only; its documents are removed by the diff', async () => {
    const { client } = await connect();
    await subscribe(client, 's1', 'mine');
    await subscribe(client, 's2', 'guarded');
    client.send({ msg: 'method', id: 'm1', method: 'login', params: ['u1'] });
    const frames = await framesUntilResult(client, 'm1');
    assert.equal(frames[0]!.msg, 'nosub');
    assert.equal(frames[0]!.id, 's2');
    assert.equal((frames[0]!.error as { error: string }).error, 'logged-in');
    assert.deepEqual(frames.slice(1), [
      { msg: 'removed', collection: 'docs', id: 'anon' },
      { msg: 'changed', collection: 'docs', id: 'profile', fields: { name: 'u1' }, cleared: ['anonOnly'] },
      { msg: 'added', collection: 'docs', id: 'private-u1', fields: { owner: 'u1' } },
      { msg: 'removed', collection: 'guardedDocs', id: 'g' },
      { msg: 'ready', subs: ['s1'] },
      { msg: 'updated', methods: ['m1'] },
      { msg: 'result', id: 'm1', result: 'u1' },
    ]);
    // The stopped sub stays stopped: logging out reruns only s1.
    client.send({ msg: 'method', id: 'm2', method: 'login', params: [null] });
    const back = await framesUntilResult(client, 'm2');
    assert.deepEqual(back.filter((f) => f.msg === 'ready'), [{ msg: 'ready', subs: ['s1'] }]);
    assert.equal(liveRecords(client, 'guardedDocs').size, 0);
  });

  test('documents a publication sends after the diff (later event-loop turns) flow normally', async () => {
    const { client } = await connect();
    await subscribe(client, 't', 'trickle');
    await client.until((f) => f.msg === 'added' && f.id === 't-null');
    client.send({ msg: 'method', id: 'm1', method: 'login', params: ['u1'] });
    assert.deepEqual(await framesUntilResult(client, 'm1'), [
      { msg: 'removed', collection: 'trickleDocs', id: 't-null' },
      { msg: 'ready', subs: ['t'] },
      { msg: 'updated', methods: ['m1'] },
      { msg: 'result', id: 'm1', result: 'u1' },
    ]);
    assert.deepEqual(await client.next(), { msg: 'added', collection: 'trickleDocs', id: 't-u1', fields: { uid: 'u1' } });
  });

  test('setUserIdOf waits for a running method, then reruns the subscriptions; the client sees the diff', async () => {
    const { client, session } = await connect();
    await subscribe(client, 's1', 'mine');
    client.send({ msg: 'method', id: 'm1', method: 'slow', params: [] });
    await slowStarted.promise;
    let settled = false;
    const changed = server.ddp.setUserIdOf(session, 'u2');
    void changed.then(() => (settled = true));
    // A fixed wait: nothing the server does next is ordered after a change that must not happen yet (the frame order below is the deterministic check).
    await delay(50);
    assert.equal(settled, false, 'not in the middle of the method');
    assert.deepEqual(events, ['mine:null'], 'no rerun yet');
    gate.resolve();
    assert.equal(await changed, true);
    assert.deepEqual(await framesUntilResult(client, 'm1'), [
      { msg: 'updated', methods: ['m1'] },
      { msg: 'result', id: 'm1', result: 'slow done' },
    ]);
    assert.deepEqual([await client.next(), await client.next(), await client.next(), await client.next()], [
      { msg: 'removed', collection: 'docs', id: 'anon' },
      { msg: 'changed', collection: 'docs', id: 'profile', fields: { name: 'u2' }, cleared: ['anonOnly'] },
      { msg: 'added', collection: 'docs', id: 'private-u2', fields: { owner: 'u2' } },
      { msg: 'ready', subs: ['s1'] },
    ]);
    assert.equal((await call(client, 'w', 'whoami')).result, 'u2');
  });

  test('setUserIdOf resolves false for an unknown or closed session, and when the session closes before its turn', async () => {
    assert.equal(await server.ddp.setUserIdOf('no-such-session', 'u1'), false);
    await assert.rejects(server.ddp.setUserIdOf('no-such-session', 5 as never), /setUserId must be called on string or null, not number/);

    const { client, session } = await connect();
    client.send({ msg: 'method', id: 'm1', method: 'slow', params: [] });
    await slowStarted.promise;
    const queued = server.ddp.setUserIdOf(session, 'u1');
    client.close();
    assert.equal(await queued, false);
    gate.resolve();
    assert.equal(await server.ddp.setUserIdOf(session, 'u1'), false);
  });

  test('onUserIdChange: once per real change, with previous; its promise is awaited before the rerun, so its write precedes updated', async () => {
    const calls: Array<[string, string | null, string | null]> = [];
    const hook = server.ddp.onUserIdChange(async (connection: ConnectionHandle, userId, previous) => {
      calls.push([connection.id, userId, previous]);
      events.push(`hook:${userId}`);
      await delay(20);
      await accounts.removeAsync({ _id: connection.id });
      await accounts.insertAsync({ _id: connection.id, userId });
      events.push(`hook done:${userId}`);
    });
    try {
      const { client, session } = await connect();
      await subscribe(client, 's1', 'mine');
      await subscribe(client, 'a', 'account');
      client.send({ msg: 'method', id: 'm1', method: 'login', params: ['u1'] });
      const frames = await framesUntilResult(client, 'm1');
      const updatedAt = frames.findIndex((f) => f.msg === 'updated');
      const accountAt = frames.findIndex((f) => f.msg === 'added' && f.collection === 'accounts');
      assert.ok(accountAt >= 0 && accountAt < updatedAt, 'the callback\'s write is sent before updated');
      assert.deepEqual(frames[accountAt]!.fields, { userId: 'u1' });
      assert.deepEqual(events, ['mine:null', 'stop mine:null', 'hook:u1', 'hook done:u1', 'mine:u1']);

      await call(client, 'm2', 'login', 'u1');
      await call(client, 'm3', 'login', null);
      assert.deepEqual(calls, [
        [session, 'u1', null],
        [session, null, 'u1'],
      ]);
    } finally {
      hook.stop();
    }
  });

  test('a throwing or rejecting onUserIdChange callback is logged and does not break the method or later callbacks', async () => {
    const seen: Array<string | null> = [];
    const hooks = [
      server.ddp.onUserIdChange(() => {
        throw new Error('hook threw');
      }),
      server.ddp.onUserIdChange(async () => {
        throw new Error('hook rejected');
      }),
      server.ddp.onUserIdChange((_connection, userId) => void seen.push(userId)),
    ];
    try {
      const { client, session } = await connect();
      await subscribe(client, 's1', 'mine');
      client.send({ msg: 'method', id: 'm1', method: 'login', params: ['u1'] });
      const frames = await framesUntilResult(client, 'm1');
      assert.deepEqual(frames.at(-1), { msg: 'result', id: 'm1', result: 'u1' });
      assert.ok(frames.some((f) => f.msg === 'added' && f.id === 'private-u1'));
      assert.deepEqual(seen, ['u1']);
      const failed = { message: 'onUserIdChange callback failed', context: { session } };
      assert.equal(errorsWith(failed, 'hook threw').length, 1, describeLogs(server.logs));
      assert.equal(errorsWith(failed, 'hook rejected').length, 1, describeLogs(server.logs));
    } finally {
      for (const hook of hooks) hook.stop();
    }
  });

  test('simpleddp (a third-party client) sees the rerun as a consistent collection', async () => {
    const client = new simpleDDP({ endpoint: server.wsUrl, SocketConstructor: WebSocket, reconnectInterval: 100 });
    await client.connect();
    try {
      const sub = client.subscribe('mine');
      await sub.ready();
      const view = () =>
        new Map(
          client
            .collection('docs')
            .fetch()
            .map(({ id, ...fields }: { id: string }) => [id, fields]),
        );
      assert.deepEqual(view(), mineFor(null));
      assert.equal(await client.call('login', 'u7'), 'u7');
      assert.deepEqual(view(), mineFor('u7'), 'the document cleared of anonOnly, the others added and removed');
      assert.equal(await client.call('login', null), null);
      assert.deepEqual(view(), mineFor(null));
    } finally {
      await client.disconnect();
    }
  });

  describe('hostile', () => {
    test('a flood of setUserId calls keeps the order, answers every call and leaves one live run per sub', async () => {
      const errorsBefore = errorCount();
      const { client } = await connect();
      await subscribe(client, 's1', 'mine');
      const n = 200;
      for (let i = 0; i < n; i++) client.send({ msg: 'method', id: `m${i}`, method: 'login', params: [`u${i}`] });
      await client.until((f) => f.msg === 'result' && f.id === `m${n - 1}`, 10_000);
      const answers = client.frames.filter((f) => f.msg === 'updated' || f.msg === 'result');
      const expected = Array.from({ length: n }, (_, i) => [
        { msg: 'updated', methods: [`m${i}`] },
        { msg: 'result', id: `m${i}`, result: `u${i}` },
      ]).flat();
      assert.deepEqual(answers, expected);
      assert.deepEqual(liveRecords(client, 'docs'), mineFor(`u${n - 1}`));
      const started = events.filter((e) => e.startsWith('mine:')).length;
      const stopped = events.filter((e) => e.startsWith('stop mine:')).length;
      assert.equal(started - stopped, 1, 'every replaced run was stopped');
      assert.equal(errorCount(), errorsBefore, describeLogs(server.logs));
    });

    test('many un-awaited changes in one method, and changes that unblock mid-rerun, settle to a consistent view', async () => {
      const { client } = await connect();
      await subscribe(client, 's1', 'mine');
      client.send({ msg: 'method', id: 'many', method: 'setMany', params: [50] });
      const result = (await framesUntilResult(client, 'many')).at(-1)!;
      assert.equal(result.result, 'u49');
      const upToResult = { frames: client.frames.slice(0, client.frames.indexOf(result) + 1) } as RawDdpClient;
      assert.deepEqual(liveRecords(upToResult, 'docs'), mineFor('u49'), 'updated came after the last rerun');

      for (let i = 0; i < 30; i++) {
        client.send({ msg: 'method', id: `x${i}`, method: 'setThenUnblock', params: [`v${i}`] });
        if (i === 10) client.send({ msg: 'sub', id: 'late', name: 'mine', params: [] });
        if (i === 20) client.send({ msg: 'unsub', id: 'late' });
      }
      await client.until((f) => f.msg === 'result' && f.id === 'x29', 10_000);
      await call(client, 'w', 'whoami');
      assert.deepEqual(liveRecords(client, 'docs'), mineFor('v29'));
      const results = client.frames.filter((f) => f.msg === 'result' && String(f.id).startsWith('x')).map((f) => f.id);
      assert.equal(results.length, 30);
      const started = events.filter((e) => e.startsWith('mine:')).length;
      const stopped = events.filter((e) => e.startsWith('stop mine:')).length;
      assert.equal(started - stopped, 1, 's1 alone is live; late was stopped');
    });

    test('a session that closes mid-rerun: nothing throws, nothing is sent, the method settles', async () => {
      const errorsBefore = errorCount();
      const { client, session } = await connect();
      await subscribe(client, 'g', 'gated');
      await subscribe(client, 's1', 'mine');
      const live = [...server.ddp.openSessions].find((s) => s.id === session)!;
      const socket = (live as unknown as { socket: { send(frame: string): void } }).socket;
      const sentAfterClose: string[] = [];
      const send = socket.send.bind(socket);
      socket.send = (frame: string) => (live.isClosed ? sentAfterClose.push(frame) : send(frame));

      rerunGate = deferred();
      client.send({ msg: 'method', id: 'm1', method: 'login', params: ['u1'] });
      await waitFor(() => events.includes('mine:u1'), 2000, 'the rerun under way');
      const framesBefore = client.frames.length;
      const queued = server.ddp.setUserIdOf(session, 'u2');
      live.connection.close();
      rerunGate.resolve();
      assert.equal(await queued, false, 'queued behind the method, then the session closed');
      // The method settles: its rerun finished (the gated publication ran to its end) and it left the running count.
      await waitFor(() => events.includes('gated done:u1'), 2000, 'the gated rerun to finish');
      const running = () => (live as unknown as { runningMethods: number }).runningMethods;
      await waitFor(() => running() === 0, 2000, 'the method to settle');
      assert.deepEqual(sentAfterClose, []);
      assert.equal(client.frames.length, framesBefore, 'no diff, ready or result after the close');
      assert.ok(events.includes('stop mine:u1'), 'the rerun subscriptions were stopped with the session');
      assert.equal(errorCount(), errorsBefore, describeLogs(server.logs));
      assert.equal(await live.setUserId('late'), undefined, 'a closed session ignores changes');
      assert.equal(live.userId, 'u1');
    });
  });
});

describe('setUserIdOf and a full session queue', () => {
  let server: TestServer;
  const release = deferred();
  const holding = deferred();
  before(async () => {
    server = await startTestServer(
      (meteor) => {
        meteor.methods({
          hold: () => {
            holding.resolve();
            return release.promise;
          },
          whoami() {
            return this.userId;
          },
        });
      },
      { maxQueuedMessagesPerSession: 3, queueHighWaterMessages: 3 },
    );
  });
  after(() => server.close());

  test('a client that fills its queue does not crowd out its own logout', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    try {
      client.send({ msg: 'method', id: 'h', method: 'hold', params: [] });
      await holding.promise; // out of the queue: three more fit
      for (let i = 0; i < 3; i++) client.send({ msg: 'method', id: `w${i}`, method: 'whoami', params: [] });
      // All three queued (the queue is full, so reading is paused: no round trip would come back).
      const live = [...server.ddp.openSessions].find((s) => s.id === session)!;
      const queued = () => (live as unknown as { queue: { length: number } }).queue.length;
      await waitFor(() => queued() === 3, 2000, 'the three calls queued');
      const change = server.ddp.setUserIdOf(session, 'u1');
      release.resolve();
      assert.equal(await change, true);
      await client.until((f) => f.msg === 'result' && f.id === 'w2');
      const results = client.frames.filter((f) => f.msg === 'result' && String(f.id).startsWith('w'));
      assert.deepEqual(results.map((f) => [f.id, f.result]), [['w0', null], ['w1', null], ['w2', null]], 'queued before the change: they ran first');
      client.send({ msg: 'method', id: 'after', method: 'whoami', params: [] });
      assert.equal((await client.until((f) => f.msg === 'result' && f.id === 'after')).result, 'u1');
    } finally {
      client.close();
    }
  });
});
