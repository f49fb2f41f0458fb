import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConnectedUser } from '../../imports/app/host';
import { MemoryCollection } from '../../imports/store/memory-collection';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { MONITOR_TOKEN, startAppForTest, waitFor } from '../helpers/app-test-server';
import { describeLogs, matching } from '../helpers/capture-logger';

const record = (id: string, instanceId: string): ConnectedUser => ({
  _id: id, userId: id, connectedAt: new Date(0), instanceId,
});

describe('presence lifecycle', () => {
  test('an abrupt disconnect (socket destroyed, no close frame) is removed', async () => {
    const app = await startAppForTest({ DDP_HEARTBEAT_INTERVAL_MS: '200', DDP_HEARTBEAT_TIMEOUT_MS: '200' });
    const { client, session } = await RawDdpClient.connect(app.wsUrl);
    await waitFor(async () => (await app.collection.findOneAsync({ _id: session })) !== undefined);
    (client.ws as unknown as { _socket: import('node:net').Socket })._socket.destroy();
    await waitFor(async () => (await app.collection.findOneAsync({ _id: session })) === undefined, 1000, 'record removed');
    await app.close();
  });

  test('a client that goes silent without any FIN is removed after the heartbeat timeout', async () => {
    const app = await startAppForTest({ DDP_HEARTBEAT_INTERVAL_MS: '200', DDP_HEARTBEAT_TIMEOUT_MS: '200' });
    const { client, session } = await RawDdpClient.connect(app.wsUrl);
    (client.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const started = Date.now();
    await waitFor(async () => (await app.collection.findOneAsync({ _id: session })) === undefined, 2000, 'record removed');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 200, `removed by the heartbeat (after ${elapsed} ms), not before`);
    client.ws.terminate();
    await app.close();
  });

  test('a restart clears this instance\'s stale records and leaves another instance\'s', async () => {
    const shared = new MemoryCollection<ConnectedUser>('connectedUsers');
    await shared.insertAsync(record('staleOfA000000001', 'instance-A'));
    await shared.insertAsync(record('staleOfA000000002', 'instance-A'));
    await shared.insertAsync(record('liveOfB0000000001', 'instance-B'));
    const app = await startAppForTest({ PRESENCE_INSTANCE_ID: 'instance-A' }, { collection: shared });
    assert.deepEqual((await shared.find().fetchAsync()).map((d) => d._id), ['liveOfB0000000001']);
    const { client, session } = await RawDdpClient.connect(app.wsUrl);
    await waitFor(async () => (await shared.find().countAsync()) === 2);
    assert.equal((await shared.findOneAsync({ _id: session }))?.instanceId, 'instance-A');
    client.close();
    await waitFor(async () => (await shared.find().countAsync()) === 1);
    assert.equal(matching(app.logs, { level: 'info', message: 'Cleared this instance', context: { instanceId: 'instance-A' } }).length, 1, describeLogs(app.logs));
    await app.close();
  });

  test('a forwarded address longer than the schema allows is cut, so the connection is still recorded (it used to fail validation and be invisible)', async () => {
    const app = await startAppForTest({ HTTP_FORWARDED_COUNT: '1' });
    const { client, session } = await RawDdpClient.connect(app.wsUrl, { 'x-forwarded-for': 'x'.repeat(300) });
    client.send({ msg: 'method', id: '1', method: 'getSessionId', params: [] });
    assert.equal((await client.until((f) => f.msg === 'result')).result, session, 'the connection itself works');
    await waitFor(async () => (await app.collection.findOneAsync({ _id: session })) !== undefined, 2000, 'the record');
    assert.equal((await app.collection.findOneAsync({ _id: session }))?.clientAddress, 'x'.repeat(128));
    assert.deepEqual(matching(app.logs, { message: 'failed validation' }), []);
    client.close();
    await app.close();
  });

  test('connect and disconnect are logged with the session id', async () => {
    const app = await startAppForTest();
    const { client, session } = await RawDdpClient.connect(app.wsUrl);
    client.close();
    await waitFor(() => matching(app.logs, { level: 'info', message: 'Client disconnected', context: { session } }).length > 0, 2000, 'the disconnect event');
    assert.equal(matching(app.logs, { level: 'info', message: 'Client connected', context: { session } }).length, 1, describeLogs(app.logs));
    await app.close();
  });

  test('LOG_CONNECTIONS=false drops the per-connection lines; the record is still written and removed', async () => {
    const app = await startAppForTest({ LOG_CONNECTIONS: 'false' });
    const { client, session } = await RawDdpClient.connect(app.wsUrl);
    await waitFor(async () => (await app.collection.findOneAsync({ _id: session })) !== undefined, 2000, 'the record');
    client.close();
    await waitFor(async () => (await app.collection.findOneAsync({ _id: session })) === undefined, 2000, 'its removal');
    await app.presence!.settled();
    assert.deepEqual(matching(app.logs, { message: /Client (connected|disconnected)/ }), [], describeLogs(app.logs));
    await app.close();
  });

  test('with no token configured nobody is a monitor, and startup says so once', async () => {
    const app = await startAppForTest({ PRESENCE_MONITOR_TOKEN: '' });
    assert.equal(matching(app.logs, { level: 'warn', message: 'nobody gets monitor rights' }).length, 1, describeLogs(app.logs));
    const { client } = await RawDdpClient.connect(app.wsUrl);
    for (const token of ['', 'anything', MONITOR_TOKEN]) {
      client.send({ msg: 'method', id: token, method: 'presence.role', params: [{ token }] });
      assert.equal((await client.until((f) => f.msg === 'result' && f.id === token)).result, 'self');
    }
    client.close();
    await app.close();
  });

  test('the monitor token can come from settings.presence.monitorToken (METEOR_SETTINGS)', async () => {
    const app = await startAppForTest({
      PRESENCE_MONITOR_TOKEN: '',
      METEOR_SETTINGS: JSON.stringify({ presence: { monitorToken: 'from-settings' } }),
    });
    const { client } = await RawDdpClient.connect(app.wsUrl);
    client.send({ msg: 'method', id: '1', method: 'presence.role', params: [{ token: 'from-settings' }] });
    assert.equal((await client.until((f) => f.msg === 'result')).result, 'monitor');
    client.close();
    await app.close();
  });

  test('a close that races the insert leaves no ghost record', async () => {
    const app = await startAppForTest();
    for (let i = 0; i < 50; i++) {
      const client = await RawDdpClient.open(app.wsUrl);
      client.send({ msg: 'connect', version: '1', support: ['1'] });
      client.ws.terminate();
    }
    // Every socket closed on the server, so no session is left to start an insert; then every insert has landed.
    await waitFor(() => app.ddp.sessionCount === 0 && app.ddp.admissionStats.socketsOpen === 0, 2000, 'the server to see every socket close');
    await app.presence!.settled();
    // Only removals can still be in flight: the count only falls from here, and a ghost would keep it above 0.
    await waitFor(async () => (await app.collection.find().countAsync()) === 0, 1000, 'no record left behind');
    await app.close();
  });
});
