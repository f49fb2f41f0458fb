import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { MONITOR_TOKEN, startAppForTest, type AppTestServer } from '../helpers/app-test-server';

/**
 * `presence.bridgeStatus` without a bridge (no MQTT configured): it exists on
 * every host the composition runs on (the Meteor-mode client subscribes to it
 * unconditionally), says `enabled: false` to monitors and nothing to others.
 * With a bridge, see compose-presence.test.ts and tests/mqtt.
 */
describe('presence.bridgeStatus without MQTT', () => {
  let app: AppTestServer;
  before(async () => (app = await startAppForTest()));
  after(() => app.close());

  test('a monitor gets {enabled: false, connected: false}', async () => {
    const { client } = await RawDdpClient.connect(app.wsUrl);
    client.send({ msg: 'sub', id: 'b', name: 'presence.bridgeStatus', params: [{ token: MONITOR_TOKEN }] });
    assert.deepEqual(await client.next(), { msg: 'added', collection: 'presence.bridge', id: 'mqtt', fields: { enabled: false, connected: false } });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['b'] });
    client.close();
  });

  for (const [label, params] of [['no token', []], ['a wrong token', [{ token: 'nope' }]]] as const) {
    test(`${label}: an empty, ready subscription`, async () => {
      const { client } = await RawDdpClient.connect(app.wsUrl);
      client.send({ msg: 'sub', id: 'b', name: 'presence.bridgeStatus', params });
      assert.deepEqual(await client.next(), { msg: 'ready', subs: ['b'] });
      await client.expectSilence(100);
      client.close();
    });
  }
});
