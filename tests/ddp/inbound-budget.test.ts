import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { InboundBudget } from '../../imports/ddp/inbound-budget';
import { waitFor } from '../helpers/app-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

describe('InboundBudget (token bucket per address)', () => {
  test('a burst is free, then the address waits in proportion to what it overdrew; refills with time', () => {
    let now = 0;
    const budget = new InboundBudget(1000, 5000, () => now);
    assert.equal(budget.charge('a', 5000), 0);
    assert.equal(budget.charge('a', 500), 500, '500 bytes over at 1,000 B/s: 500 ms');
    assert.equal(budget.waitFor('b'), 0, 'other addresses are not affected');
    now = 499;
    assert.equal(budget.waitFor('a'), 1);
    now = 500;
    assert.equal(budget.waitFor('a'), 0);
    now = 100_000;
    assert.equal(budget.charge('a', 5000), 0, 'refilled up to the burst, not beyond');
    assert.equal(budget.charge('a', 1), 1);
  });

  test('0 bytes per second disables it', () => {
    const budget = new InboundBudget(0, 0);
    assert.equal(budget.charge('a', 1e9), 0);
    assert.equal(budget.enabled, false);
  });
});

describe('inbound budget on the wire', () => {
  let server: TestServer;
  before(
    async () =>
      (server = await startTestServer((meteor) => meteor.methods({ echo: (x: unknown) => x }), {
        maxInboundBytesPerSecondPerAddress: 100_000,
        inboundBurstBytesPerAddress: 20_000,
        socketCostBytes: 0, // these tests count bytes; what a socket costs is tested apart
        maxFrameBytes: 16_000,
      })),
  );
  after(() => server.close());

  const connectFrom = (localAddress: string) =>
    RawDdpClient.connect(server.wsUrl, {}, { localAddress });

  test('an address over its budget is slowed down, not cut off: every call is answered, later; another address is not slowed', async () => {
    const { client: heavy } = await connectFrom('127.0.0.41');
    const { client: bystander } = await connectFrom('127.0.0.42');
    const started = Date.now();
    // 40 × ~10 KB written over 0.8 s (500 KB/s) against 100 KB/s after a 20 KB burst: about 4 s.
    // (Frames that arrive in one TCP read are all parsed; backpressure stops the reads after them.)
    for (let i = 0; i < 40; i++) {
      heavy.send({ msg: 'method', id: `h${i}`, method: 'echo', params: ['x'.repeat(10_000)] });
      await new Promise((r) => setTimeout(r, 20)); // the client's sending pace: part of the scenario
    }
    bystander.send({ msg: 'method', id: 'b', method: 'echo', params: [1] });
    await bystander.until((f) => f.msg === 'result' && f.id === 'b', 500);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(server.wsUrl, { localAddress: '127.0.0.41' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => (ws.terminate(), resolve(101)));
      ws.on('error', () => {});
    });
    assert.equal(refused, 503, 'a new WebSocket from the overdrawn address waits');
    const xhrStatus = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.httpUrl}/sockjs/000/abcdefgh/xhr_send`, { method: 'POST', localAddress: '127.0.0.41' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('["x"]');
    });
    assert.equal(xhrStatus, 429, 'a SockJS post from the overdrawn address is refused');
    await heavy.until((f) => f.msg === 'result' && f.id === 'h39', 15_000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 2500, `throttled: ${elapsed} ms`);
    assert.equal(heavy.frames.filter((f) => f.msg === 'result').length, 40, 'nothing lost');
    heavy.close();
    bystander.close();
  });

  test('frames refused as too large still count: after a few, new WebSockets from that address wait', async () => {
    const upgradeStatus = () =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(server.wsUrl, { localAddress: '127.0.0.43' });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.send('x'.repeat(17_000)); // over maxFrameBytes: closed with 1009
          ws.on('close', () => resolve(101));
        });
        ws.on('error', () => {});
      });
    assert.equal(await upgradeStatus(), 101);
    assert.equal(await upgradeStatus(), 101);
    assert.equal(await upgradeStatus(), 503, 'two refused 16 KB frames overdrew the 20 KB burst');
  });

  test('empty frames count too (frameCostBytes each): a flood of them overdraws the address like any other', async () => {
    const status = (url: string, localAddress: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { localAddress });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => (ws.terminate(), resolve(101)));
        ws.on('error', () => {});
      });
    for (const [url, address, frame] of [
      [server.wsUrl, '127.0.0.44', ''],
      [`ws://127.0.0.1:${server.port}/sockjs/123/abcdefgh/websocket`, '127.0.0.45', '[]'], // sockjs parses `[]` into no message at all
    ] as const) {
      const ws = new WebSocket(url, { localAddress: address });
      await new Promise((r) => ws.on('open', r));
      // 1,000 frames × 64 B of frame cost: well past the 20 KB burst, although their payload is (almost) nothing.
      for (let i = 0; i < 1000; i++) ws.send(frame);
      // Until the server has read the flood, a new socket is still let in (and costs nothing here: socketCostBytes is 0).
      await waitFor(async () => (await status(server.wsUrl, address)) === 503, 3000, `${url}: the flood to overdraw ${address}`);
      ws.terminate();
    }
  });
});

describe('socketCostBytes', () => {
  test('each new socket costs its address: past the burst, a loop of new sockets gets 503 while another address is served', async () => {
    const server = await startTestServer(() => {}, { maxInboundBytesPerSecondPerAddress: 1_000, inboundBurstBytesPerAddress: 20_000, maxFrameBytes: 16_000, socketCostBytes: 8_000 });
    const upgrade = (localAddress: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(server.wsUrl, { localAddress });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => (ws.terminate(), resolve(101)));
        ws.on('error', () => {});
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await upgrade('127.0.0.46'));
    assert.deepEqual(statuses, [101, 101, 101, 503], '3 × 8,000 overdraws a 20,000 burst');
    assert.equal(await upgrade('127.0.0.47'), 101);
    await server.close();
  });
});
