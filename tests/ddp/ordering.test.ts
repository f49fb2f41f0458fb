import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeLogs, matching } from '../helpers/capture-logger';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

describe('per-session ordering over the wire', () => {
  let server: TestServer;
  before(
    async () =>
      (server = await startTestServer(
        (meteor) => {
          meteor.methods({
            async sleep(ms: number) {
              await new Promise((r) => setTimeout(r, ms));
              return ms;
            },
            async sleepUnblocked(ms: number) {
              this.unblock();
              await new Promise((r) => setTimeout(r, ms));
              return ms;
            },
            fast: () => 'fast',
            hang: () => new Promise(() => {}),
          });
          meteor.publish('slowSub', async function (this: any) {
            await new Promise((r) => setTimeout(r, 50));
            this.ready();
          });
        },
        { maxQueuedMessagesPerSession: 5 },
      )),
  );
  after(() => server.close());

  const resultIds = (c: RawDdpClient) => c.frames.filter((f) => f.msg === 'result').map((f) => f.id);

  test('a slow method holds the next one: results arrive in call order', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: 'slow', method: 'sleep', params: [60] });
    client.send({ msg: 'method', id: 'fast', method: 'fast', params: [] });
    await client.until((f) => f.msg === 'result' && f.id === 'fast');
    assert.deepEqual(resultIds(client), ['slow', 'fast']);
    client.close();
  });

  test('this.unblock() lets the next method overtake', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: 'slow', method: 'sleepUnblocked', params: [60] });
    client.send({ msg: 'method', id: 'fast', method: 'fast', params: [] });
    await client.until((f) => f.msg === 'result' && f.id === 'slow', 1000);
    assert.deepEqual(resultIds(client), ['fast', 'slow']);
    client.close();
  });

  test('a sub holds the queue until its publish function returns', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 's', name: 'slowSub' });
    client.send({ msg: 'method', id: 'm', method: 'fast', params: [] });
    await client.until((f) => f.msg === 'result');
    const order = client.frames.map((f) => f.msg);
    assert.ok(order.indexOf('ready') < order.indexOf('result'), order.join(','));
    client.close();
  });

  test('one session blocked on a hanging method does not block another session', async () => {
    const { client: stuck } = await RawDdpClient.connect(server.wsUrl);
    stuck.send({ msg: 'method', id: 'h', method: 'hang', params: [] });
    const { client: other } = await RawDdpClient.connect(server.wsUrl);
    other.send({ msg: 'method', id: 'f', method: 'fast', params: [] });
    assert.equal((await other.until((f) => f.msg === 'result')).result, 'fast');
    stuck.close();
    other.close();
  });

  test('a session that piles up more than maxQueuedMessagesPerSession behind a hang is closed', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: 'h', method: 'hang', params: [] });
    for (let i = 0; i < 10; i++) client.send({ msg: 'method', id: `q${i}`, method: 'fast', params: [] });
    await client.closed;
    const logged = matching(server.logs, { level: 'warn', message: 'Client mistake: inbound queue overflow', context: { session } });
    assert.equal(logged.length, 1, describeLogs(server.logs));
  });
});
