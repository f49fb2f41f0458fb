import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';
import { waitFor } from '../helpers/app-test-server';
import { describeLogs, matching } from '../helpers/capture-logger';

/**
 * Per-session and per-socket bounds (issue 9): exceeding one closes that
 * client only, with a log line; a legitimate client never reaches one.
 */
describe('per-client bounds', () => {
  let server: TestServer;
  const never = new Promise<never>(() => {});
  before(
    async () =>
      (server = await startTestServer(
        (meteor) => {
          meteor.methods({
            echo: (x: unknown) => x,
            hang: () => never,
            unblockThenHang(this: { unblock(): void }) {
              this.unblock();
              return never;
            },
            big: () => 'x'.repeat(16 * 1024),
          });
          meteor.publish('empty', function () {
            this.ready();
          });
          meteor.publish('boom', () => {
            throw new Error('boom');
          });
        },
        {
          maxSubscriptionsPerSession: 3,
          maxPendingMethodsPerSession: 3,
          maxQueuedBytesPerSession: 10 * 1024,
          maxOffendingMessageBytes: 256,
          maxParams: 100,
          maxBufferedBytesPerSocket: 64 * 1024,
          maxFrameBytes: 2 * 1024 * 1024,
        },
      )),
  );
  after(() => server.close());

  async function assertServing(): Promise<void> {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: 'ok', method: 'echo', params: [1] });
    assert.deepEqual(await client.until((f) => f.msg === 'result'), { msg: 'result', id: 'ok', result: 1 });
    client.close();
  }

  test('a sub beyond maxSubscriptionsPerSession closes that session only', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    for (let i = 0; i < 3; i++) client.send({ msg: 'sub', id: `s${i}`, name: 'empty' });
    for (let i = 0; i < 3; i++) await client.until((f) => f.msg === 'ready');
    client.send({ msg: 'sub', id: 's3', name: 'empty' });
    await client.closed;
    const logged = matching(server.logs, { level: 'warn', message: 'Client mistake: too many subscriptions', context: { session } });
    assert.equal(logged.length, 1, describeLogs(server.logs));
    await assertServing();
  });

  test('an unsub frees a subscription slot', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    for (let round = 0; round < 5; round++) {
      client.send({ msg: 'sub', id: `r${round}`, name: 'empty' });
      await client.until((f) => f.msg === 'ready');
      client.send({ msg: 'unsub', id: `r${round}` });
      await client.until((f) => f.msg === 'nosub');
    }
    client.send({ msg: 'method', id: 'ok', method: 'echo', params: [2] });
    assert.equal((await client.until((f) => f.msg === 'result')).result, 2);
    client.close();
  });

  test('methods beyond maxPendingMethodsPerSession close that session (unblocked methods count until they finish)', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    for (let i = 0; i < 3; i++) client.send({ msg: 'method', id: `h${i}`, method: 'unblockThenHang' });
    // A sub is queued behind the three methods, so its ready proves they all started (and unblocked);
    // three pending methods are allowed: no result, no close, nothing but that ready.
    const sent = client.frames.length;
    client.send({ msg: 'sub', id: 'after', name: 'empty' });
    const ready = await client.until((f) => f.msg === 'ready');
    assert.deepEqual(client.frames.slice(sent), [ready]);
    assert.equal(client.ws.readyState, client.ws.OPEN);
    client.send({ msg: 'method', id: 'h3', method: 'unblockThenHang' });
    await client.closed;
    const logged = matching(server.logs, { level: 'warn', message: 'Client mistake: too many pending methods', context: { session } });
    assert.equal(logged.length, 1, describeLogs(server.logs));
    await assertServing();
  });

  test('answered methods do not count as pending', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    for (let i = 0; i < 50; i++) {
      client.send({ msg: 'method', id: `e${i}`, method: 'echo', params: [i] });
      await client.until((f) => f.msg === 'result' && f.id === `e${i}`);
    }
    client.close();
  });

  test('queued bytes beyond maxQueuedBytesPerSession close the session', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: 'stuck', method: 'hang' });
    // Subs wait behind the hanging method; their frames add up past 10 KiB.
    for (let i = 0; i < 20; i++) client.send({ msg: 'sub', id: `q${i}`, name: 'empty', params: ['y'.repeat(1000)] });
    await client.closed;
    const logged = matching(server.logs, { level: 'warn', message: 'Client mistake: inbound queue overflow', context: { session } });
    assert.equal(logged.length, 1, describeLogs(server.logs));
    await assertServing();
  });

  test('a small offending message is echoed whole, as Meteor does', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'x', name: 'empty', params: 'nope' });
    assert.deepEqual(await client.next(), {
      msg: 'error', reason: 'Malformed subscription', offendingMessage: { msg: 'sub', id: 'x', name: 'empty', params: 'nope' },
    });
    client.close();
  });

  test('a large offending message is echoed as {msg, id} only: a 1 MB EJSON binary gets a tiny reply', async () => {
    const binary = randomBytes(768 * 1024).toString('base64');
    const frame = JSON.stringify({ msg: 'x', id: 'i', params: [{ $binary: binary }] });
    const before = await RawDdpClient.open(server.wsUrl);
    before.sendRaw(frame);
    const reply = await before.next();
    assert.deepEqual(reply, { msg: 'error', reason: 'Must connect first', offendingMessage: { msg: 'x', id: 'i' } });
    assert.ok(before.rawFrames[0]!.length < 200);
    before.close();
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.sendRaw(frame);
    assert.deepEqual(await client.next(), { msg: 'error', reason: 'Bad request', offendingMessage: { msg: 'x', id: 'i' } });
    client.close();
  });

  test('a method with more than maxParams parameters gets a 400 error, not an internal error', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: 'p', method: 'echo', params: new Array(101).fill(0) });
    const result = await client.until((f) => f.msg === 'result');
    assert.equal((result.error as { error: number }).error, 400);
    client.send({ msg: 'sub', id: 'ps', name: 'empty', params: new Array(101).fill(0) });
    const nosub = await client.until((f) => f.msg === 'nosub');
    assert.equal((nosub.error as { error: number }).error, 400);
    assert.deepEqual(matching(server.logs, { level: 'error' }), [], 'a client mistake is not an ERROR');
    client.close();
  });

  test('ping and unsub with a falsy id are answered with that id; an object id gets no answer and no stack trace', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    const logsBefore = server.logs.length;
    client.sendRaw('{"msg":"ping","id":null}');
    assert.equal(await client.next().then(() => client.rawFrames.at(-1)), '{"msg":"pong","id":null}');
    client.sendRaw('{"msg":"ping","id":0}');
    assert.equal(await client.next().then(() => client.rawFrames.at(-1)), '{"msg":"pong","id":0}');
    client.sendRaw('{"msg":"unsub","id":null}');
    assert.equal(await client.next().then(() => client.rawFrames.at(-1)), '{"msg":"nosub","id":null}');
    const sent = client.frames.length;
    client.sendRaw('{"msg":"ping","id":{}}');
    client.sendRaw('{"msg":"unsub","id":[]}');
    // The method runs after both were handled (pings at once, unsubs in the session's queue): only its own frames come back.
    const result = await client.call('echo', 'after');
    const methodOwn = (f: Record<string, unknown>) => f === result || (f.msg === 'updated' && (f.methods as string[]).includes(result.id as string));
    assert.deepEqual(client.frames.slice(sent).filter((f) => !methodOwn(f)), []);
    const logs = server.logs.slice(logsBefore);
    // Both reports are of one kind: the second is counted but not logged within the window.
    const logged = matching(logs, { level: 'warn', message: 'Client mistake: non-string id' });
    assert.deepEqual(logged.map((r) => r.context), [{ session }], describeLogs(logs));
    // No stack trace: nothing was logged as an error or with an error attached.
    assert.deepEqual(logs.filter((r) => r.level === 'error' || r.context?.error !== undefined), [], describeLogs(logs));
    client.close();
  });

  test('a sub id with a newline cannot start a new log line', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'a\nFORGED ERROR line\r\u2028', name: 'boom' });
    await client.until((f) => f.msg === 'nosub');
    assert.equal(matching(server.logs, { level: 'error', message: /^Exception from sub boom id a\nFORGED/ }).length, 1, describeLogs(server.logs));
    // logLines on purpose: this test is about the formatted line (no raw newline can forge a second one).
    const line = server.logLines.find((l) => l.includes('from sub boom'));
    assert.ok(line, 'the failure is logged');
    assert.ok(!/[\n\r\u2028]/.test(line!), line);
    assert.ok(line!.includes('a\\u000aFORGED'));
    client.close();
  });

  test('a SockJS xhr client that stops polling is closed at maxBufferedBytesPerSocket', async () => {
    const base = `${server.httpUrl}/sockjs/000/${randomBytes(4).toString('hex')}`;
    assert.equal((await fetch(`${base}/xhr`, { method: 'POST' })).status, 200);
    const send = (msg: unknown) => fetch(`${base}/xhr_send`, { method: 'POST', body: JSON.stringify([JSON.stringify(msg)]) });
    await send({ msg: 'connect', version: '1', support: ['1'] });
    await waitFor(() => server.ddp.sessionCount >= 1, 2000, 'the xhr session');
    const sessionsBefore = server.ddp.sessionCount;
    // 16 KiB results, never fetched: past 64 KiB the session is closed.
    for (let i = 0; i < 8; i++) await send({ msg: 'method', id: `b${i}`, method: 'big' });
    // The warning first: the count alone could also drop because an earlier test's session closes late.
    const notReading = () => matching(server.logs, { level: 'warn', message: 'Client mistake: not reading', context: { transport: 'sockjs' } }).length > 0;
    await waitFor(notReading, 3000, 'the not-reading warning');
    await waitFor(() => server.ddp.sessionCount <= sessionsBefore - 1, 2000, 'the non-reading session to close');
  });
  test('a WebSocket client that stops reading is closed at maxBufferedBytesPerSocket, counted as a client mistake with its session', async () => {
    // A server of its own: the mistake log writes one line per kind per interval, and the SockJS test above already used this one's.
    const own = await startTestServer((meteor) => meteor.methods({ big: () => 'x'.repeat(16 * 1024) }), { maxBufferedBytesPerSocket: 64 * 1024 });
    const { client, session } = await RawDdpClient.connect(own.wsUrl);
    const tcp = (client.ws as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.pause(); // the kernel buffers fill, then the server's socket buffer grows
    const closed = new Promise((resolve) => client.ws.once('close', resolve));
    for (let i = 0; i < 200; i++) client.send({ msg: 'method', id: `w${i}`, method: 'big' });
    const warned = () => matching(own.logs, { level: 'warn', message: 'Client mistake: not reading', context: { transport: 'websocket', session } }).length > 0;
    await waitFor(warned, 5000, 'the not-reading warning for this session');
    assert.equal(own.ddp.mistakes.totals().get('not reading'), 1, 'counted for the metrics');
    tcp.resume();
    await closed;
    await own.close();
  });

  test('with default bounds, 5,000 pipelined method calls are all answered; the session stays open', async () => {
    const defaults = await startTestServer((meteor) => meteor.methods({ echo: (x: unknown) => x }));
    const { client } = await RawDdpClient.connect(defaults.wsUrl);
    for (let i = 0; i < 5000; i++) client.send({ msg: 'method', id: `p${i}`, method: 'echo', params: [i] });
    await client.until((f) => f.msg === 'result' && f.id === 'p4999', 10_000);
    assert.equal(client.frames.filter((f) => f.msg === 'result').length, 5000);
    assert.equal(client.ws.readyState, client.ws.OPEN);
    client.close();
    await defaults.close();
  });


  test('a client far ahead of a slow session is not read until the queue drains (backpressure), instead of being cut off', async () => {
    const slow = await startTestServer(
      (meteor) => meteor.methods({ slow: (x: unknown) => new Promise((r) => setTimeout(() => r(x), 1)) }),
      { queueHighWaterMessages: 10, maxQueuedMessagesPerSession: 300 },
    );
    const { client } = await RawDdpClient.connect(slow.wsUrl);
    // 1,000 frames of ~560 B in one burst: without backpressure the queue would pass 300 and the session close;
    // with it, no more than one TCP read (~64 KiB, ~117 frames) lands beyond the high-water mark.
    for (let i = 0; i < 1000; i++) client.send({ msg: 'method', id: `s${i}`, method: 'slow', params: ['x'.repeat(500)] });
    await client.until((f) => f.msg === 'result' && f.id === 's999', 20_000);
    assert.equal(client.frames.filter((f) => f.msg === 'result').length, 1000);
    assert.equal(client.ws.readyState, client.ws.OPEN);
    client.close();
    await slow.close();
  });

  test('an unknown method or publication name is echoed at most 256 characters long', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    const name = 'm'.repeat(100_000);
    client.send({ msg: 'method', id: 'n', method: name });
    client.send({ msg: 'sub', id: 'n', name });
    await client.until((f) => f.msg === 'result');
    await client.until((f) => f.msg === 'nosub');
    for (const raw of client.rawFrames) assert.ok(raw.length < 1000, `reply of ${raw.length} characters`);
    client.close();
  });
});
