import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { MONITOR_TOKEN, startAppForTest } from '../helpers/app-test-server';

/**
 * composePresence, through the standalone entry point (server/main.ts calls
 * the same function on the real Meteor; `npm run typecheck` holds it to
 * @types/meteor). Here the bridge's broker is a port nobody listens on: the
 * composition must build the bridge from configuration, publish its status,
 * and keep local presence working while the broker is away. The bridge
 * against real brokers is tested in tests/mqtt.
 */
async function refusedUrl(credentials = ''): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `mqtt://${credentials}127.0.0.1:${port}`;
}

describe('composePresence: one composition for both entry points', () => {
  test('MQTT_URL builds the bridge; its status reaches monitors; local presence works without the broker', async () => {
    const url = await refusedUrl('user:secret@');
    const app = await startAppForTest({ MQTT_URL: url, PRESENCE_INSTANCE_ID: 'inst-A' });
    assert.ok(app.bridge, 'a bridge was built from the configuration');
    const { client: monitor, session } = await RawDdpClient.connect(app.wsUrl);
    monitor.send({ msg: 'sub', id: 'b', name: 'presence.bridgeStatus', params: [{ token: MONITOR_TOKEN }] });
    monitor.send({ msg: 'sub', id: 'l', name: 'list.connectedUsers', params: [{ token: MONITOR_TOKEN }] });
    await monitor.until((f) => f.msg === 'ready' && (f.subs as string[])[0] === 'l');
    const status = monitor.frames.find((f) => f.collection === 'presence.bridge' && f.msg === 'added')!.fields as Record<string, unknown>;
    assert.equal(status.enabled, true);
    assert.equal(status.connected, false);
    assert.equal(status.brokerUrl, url.replace('user:secret@', ''), 'shown without credentials');
    assert.ok(monitor.frames.some((f) => f.collection === 'connectedUsers' && f.msg === 'added' && f.id === session), 'local presence goes on');
    monitor.close();
    const closing = Date.now();
    await app.close();
    assert.ok(Date.now() - closing < 5000, 'close does not wait for the absent broker');
  });

  test('settings.presence.mqtt.url turns the bridge on too (how a Meteor deployment configures it)', async () => {
    const app = await startAppForTest({ METEOR_SETTINGS: JSON.stringify({ presence: { mqtt: { url: await refusedUrl() } } }) });
    assert.ok(app.bridge);
    await app.close();
  });

  test('without MQTT configuration there is no bridge, and presence is composed as before', async () => {
    const app = await startAppForTest();
    assert.equal(app.bridge, null);
    assert.ok(app.presence);
    await app.presence.started;
    const { client, session } = await RawDdpClient.connect(app.wsUrl);
    client.send({ msg: 'method', id: '1', method: 'getSessionId', params: [] });
    assert.equal((await client.until((f) => f.msg === 'result')).result, session);
    client.close();
    await app.close();
  });
});
