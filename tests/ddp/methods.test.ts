import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import simpleDDP from 'simpleddp';
import DDPModule from 'ddp.js';
import WebSocket from 'ws';
import { describeLogs, matching } from '../helpers/capture-logger';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

// ddp.js is published as a CommonJS module with `exports.default`.
const DDP = DDPModule.default ?? DDPModule;

describe('methods (DDP.md "Remote procedure calls")', () => {
  let server: TestServer;
  before(
    async () =>
      (server = await startTestServer((meteor) =>
        meteor.methods({
          echo: (...args: unknown[]) => args,
          nothing: () => undefined,
          whoAmI() {
            return { id: this.connection.id, userId: this.userId, isSimulation: this.isSimulation };
          },
          async slowDouble(n: number) {
            await new Promise((r) => setTimeout(r, 20));
            return n * 2;
          },
          clientSafe() {
            throw new meteor.Error('not-allowed', 'You may not', 'some details');
          },
          clientSafeLike() {
            throw Object.assign(new Error('custom message'), { isClientSafe: true, error: 418, reason: 'teapot' });
          },
          crash() {
            throw new Error('secret internal detail');
          },
          async crashLater() {
            await null;
            throw new TypeError('async secret');
          },
          today: () => new Date(Date.UTC(2026, 0, 2)),
        }),
      )),
  );
  after(() => server.close());

  test('a method gets `updated` then `result` (Meteor 3 order), exact frames', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: '1', method: 'echo', params: [1, 'a', { b: true }] });
    assert.deepEqual(await client.next(), { msg: 'updated', methods: ['1'] });
    assert.deepEqual(await client.next(), { msg: 'result', id: '1', result: [1, 'a', { b: true }] });
    client.close();
  });

  test('a method returning undefined gets a result without `result`', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: '1', method: 'nothing' });
    await client.next();
    assert.deepEqual(await client.next(), { msg: 'result', id: '1' });
    client.close();
  });

  test('unknown method → result with 404 error, then updated', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: '9', method: 'nope', params: [] });
    const result = await client.next();
    assert.equal(
      client.rawFrames[1],
      '{"msg":"result","id":"9","error":{"isClientSafe":true,"error":404,"reason":"Method \'nope\' not found","message":"Method \'nope\' not found [404]","errorType":"Meteor.Error"}}',
    );
    assert.equal(result.msg, 'result');
    assert.deepEqual(await client.next(), { msg: 'updated', methods: ['9'] });
    client.close();
  });

  test('Meteor.Error keeps error, reason and details on the wire', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: '2', method: 'clientSafe', params: [] });
    await client.until((f) => f.msg === 'result');
    assert.equal(
      client.rawFrames.find((f) => f.includes('"result"')),
      '{"msg":"result","id":"2","error":{"isClientSafe":true,"error":"not-allowed","reason":"You may not","details":"some details","message":"You may not [not-allowed]","errorType":"Meteor.Error"}}',
    );
    client.close();
  });

  test('an error flagged isClientSafe passes through with its own message', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: '3', method: 'clientSafeLike', params: [] });
    const result = await client.until((f) => f.msg === 'result');
    assert.deepEqual(result.error, { isClientSafe: true, error: 418, reason: 'teapot', message: 'custom message', errorType: 'Meteor.Error' });
    client.close();
  });

  for (const method of ['crash', 'crashLater']) {
    test(`${method}: any other error → 500 Internal server error, no stack, logged on the server`, async () => {
      const { client, session } = await RawDdpClient.connect(server.wsUrl);
      client.send({ msg: 'method', id: '4', method, params: [] });
      const result = await client.until((f) => f.msg === 'result');
      assert.deepEqual(result.error, {
        isClientSafe: true, error: 500, reason: 'Internal server error', message: 'Internal server error [500]', errorType: 'Meteor.Error',
      });
      assert.ok(!client.rawFrames.join('').includes('secret'), 'no internal detail reaches the client');
      const logged = matching(server.logs, { level: 'error', message: `Exception while invoking method '${method}'`, context: { session, methodId: '4' } });
      assert.equal(logged.length, 1, describeLogs(server.logs));
      assert.match(String((logged[0]!.context?.error as Error | undefined)?.message), /secret/, 'the detail is in the server log');
      client.close();
    });
  }

  test('this.connection is the caller\'s connection; userId is null', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: '5', method: 'whoAmI', params: [] });
    const result = await client.until((f) => f.msg === 'result');
    assert.deepEqual(result.result, { id: session, userId: null, isSimulation: false });
    client.close();
  });

  test('EJSON: a Date travels as {$date}', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: '6', method: 'today', params: [] });
    const result = await client.until((f) => f.msg === 'result');
    assert.deepEqual(result.result, { $date: Date.UTC(2026, 0, 2) });
    client.send({ msg: 'method', id: '7', method: 'echo', params: [{ $date: 5 }] });
    const echoed = await client.until((f) => f.msg === 'result');
    assert.deepEqual(echoed.result, [{ $date: 5 }]);
    client.close();
  });

  test('simpleddp (a third-party client) calls methods and sees errors', async () => {
    const client = new simpleDDP({ endpoint: server.wsUrl, SocketConstructor: WebSocket, reconnectInterval: 100 });
    await client.connect();
    assert.equal(await client.call('slowDouble', 21), 42);
    await assert.rejects(client.call('clientSafe'), (e: { error: string; reason: string }) => e.error === 'not-allowed' && e.reason === 'You may not');
    await assert.rejects(client.call('missing'), (e: { error: number }) => e.error === 404);
    await client.disconnect();
  });

  test('ddp.js (another third-party client) gets result and updated', async () => {
    const ddp = new DDP({ endpoint: server.wsUrl, SocketConstructor: WebSocket, autoReconnect: false });
    await new Promise((resolve) => ddp.on('connected', resolve));
    const id = ddp.method('echo', ['x']);
    const [result, updated] = await Promise.all([
      new Promise<{ id: string; result: unknown }>((resolve) => ddp.on('result', resolve)),
      new Promise<{ methods: string[] }>((resolve) => ddp.on('updated', resolve)),
    ]);
    assert.equal(result.id, id);
    assert.deepEqual(result.result, ['x']);
    assert.deepEqual(updated.methods, [id]);
    ddp.disconnect();
  });
});
