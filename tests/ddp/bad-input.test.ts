import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/app-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

/** Each bad input gets Meteor's exact reply, and the connection keeps working. */
describe('bad input', () => {
  let server: TestServer;
  before(
    async () =>
      (server = await startTestServer(
        (meteor) => meteor.methods({ echo: (x: unknown) => x }),
        { maxFrameBytes: 64 * 1024 },
      )),
  );
  after(() => server.close());

  async function assertStillWorks(client: RawDdpClient) {
    client.send({ msg: 'method', id: 'alive', method: 'echo', params: [42] });
    const result = await client.until((f) => f.msg === 'result');
    assert.deepEqual(result, { msg: 'result', id: 'alive', result: 42 });
  }

  const beforeConnect: Array<[string, string, Record<string, unknown>]> = [
    ['invalid JSON', '{"msg": "connect"', { msg: 'error', reason: 'Bad request' }],
    ['a JSON array', '[1,2]', { msg: 'error', reason: 'Bad request' }],
    ['a JSON string', '"hello"', { msg: 'error', reason: 'Bad request' }],
    ['null', 'null', { msg: 'error', reason: 'Bad request' }],
    ['an object without msg', '{"id":"1"}', { msg: 'error', reason: 'Bad request', offendingMessage: { id: '1' } }],
    ['method before connect', '{"msg":"method","id":"1","method":"echo"}', {
      msg: 'error', reason: 'Must connect first', offendingMessage: { msg: 'method', id: '1', method: 'echo' },
    }],
    ['an unknown EJSON type in params', '{"msg":"method","id":"1","method":"echo","params":[{"$type":"nope","$value":1}]}', {
      msg: 'error', reason: 'Parse error',
    }],
  ];
  for (const [name, frame, expected] of beforeConnect) {
    test(`before connect: ${name} → ${expected.reason}, socket stays usable`, async () => {
      const client = await RawDdpClient.open(server.wsUrl);
      client.sendRaw(frame);
      assert.deepEqual(await client.next(), expected);
      client.send({ msg: 'connect', version: '1', support: ['1'] });
      assert.equal((await client.next()).msg, 'connected');
      await assertStillWorks(client);
      client.close();
    });
  }

  const afterConnect: Array<[string, unknown, Record<string, unknown>]> = [
    ['unknown msg', { msg: 'hello' }, { msg: 'error', reason: 'Bad request', offendingMessage: { msg: 'hello' } }],
    ['a second connect', { msg: 'connect', version: '1', support: ['1'] }, {
      msg: 'error', reason: 'Already connected', offendingMessage: { msg: 'connect', version: '1', support: ['1'] },
    }],
    ['sub without id', { msg: 'sub', name: 'x' }, { msg: 'error', reason: 'Malformed subscription', offendingMessage: { msg: 'sub', name: 'x' } }],
    ['sub with non-array params', { msg: 'sub', id: 's', name: 'x', params: {} }, {
      msg: 'error', reason: 'Malformed subscription', offendingMessage: { msg: 'sub', id: 's', name: 'x', params: {} },
    }],
    ['method without name', { msg: 'method', id: 'm' }, {
      msg: 'error', reason: 'Malformed method invocation', offendingMessage: { msg: 'method', id: 'm' },
    }],
    ['method with numeric id', { msg: 'method', id: 7, method: 'echo' }, {
      msg: 'error', reason: 'Malformed method invocation', offendingMessage: { msg: 'method', id: 7, method: 'echo' },
    }],
    ['method with non-string randomSeed', { msg: 'method', id: 'm', method: 'echo', randomSeed: 1 }, {
      msg: 'error', reason: 'Malformed method invocation', offendingMessage: { msg: 'method', id: 'm', method: 'echo', randomSeed: 1 },
    }],
  ];
  for (const [name, message, expected] of afterConnect) {
    test(`after connect: ${name} → ${expected.reason}, session keeps working`, async () => {
      const { client } = await RawDdpClient.connect(server.wsUrl);
      client.send(message);
      assert.deepEqual(await client.next(), expected);
      await assertStillWorks(client);
      client.close();
    });
  }

  test('a frame over maxFrameBytes closes that socket only (1009), other sessions unaffected', async () => {
    const bystander = await RawDdpClient.connect(server.wsUrl);
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.sendRaw(JSON.stringify({ msg: 'method', id: 'big', method: 'echo', params: ['x'.repeat(70 * 1024)] }));
    const { code } = await client.closed;
    assert.equal(code, 1009);
    await assertStillWorks(bystander.client);
    bystander.client.close();
  });

  test('a binary frame is read as UTF-8 text', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.sendRaw(Buffer.from(JSON.stringify({ msg: 'method', id: 'b', method: 'echo', params: ['é'] })));
    assert.deepEqual(await client.until((f) => f.msg === 'result'), { msg: 'result', id: 'b', result: 'é' });
    client.close();
  });

  test('a flood of garbage does not stall another session', async () => {
    const { client: flooder } = await RawDdpClient.connect(server.wsUrl);
    const { client: other } = await RawDdpClient.connect(server.wsUrl);
    for (let i = 0; i < 2000; i++) flooder.sendRaw(i % 2 ? '{' : '{"msg":"nope"}');
    await assertStillWorks(other);
    flooder.close();
    other.close();
  });

  test('a socket that never connects is closed at connectDeadlineMs', async () => {
    const quick = await startTestServer(() => {}, { connectDeadlineMs: 100 });
    const client = await RawDdpClient.open(quick.wsUrl);
    const started = Date.now();
    await client.closed;
    assert.ok(Date.now() - started < 1000);
    await quick.close();
  });

  test('a sockjs POST over the limit is refused with 413', async () => {
    const res = await fetch(`${server.httpUrl}/sockjs/123/abcdefgh/xhr_send`, {
      method: 'POST',
      body: '["' + 'x'.repeat(70 * 1024) + '"]',
    });
    assert.equal(res.status, 413);
  });

  test('no session is left behind after the sockets above are gone', async () => {
    await waitFor(() => server.ddp.sessionCount === 0, 2000, 'every session closed');
  });
});
