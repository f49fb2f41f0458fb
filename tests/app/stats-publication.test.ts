import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { MONITOR_TOKEN, startAppForTest, type AppTestServer } from '../helpers/app-test-server';

const STATS = 'presence.stats';

describe('presence.stats over the wire', () => {
  let app: AppTestServer;
  before(async () => {
    app = await startAppForTest();
    await app.presence!.started;
  });
  after(() => app.close());

  test('a monitor gets the total and this instance with history, then one sample per second', async () => {
    const { client } = await RawDdpClient.connect(app.wsUrl);
    client.send({ msg: 'sub', id: 's', name: STATS, params: [{ token: MONITOR_TOKEN }] });
    await client.until((f) => f.msg === 'ready');
    const added = client.frames.filter((f) => f.msg === 'added' && f.collection === STATS);
    const instanceId = app.config.presence.instanceId;
    assert.deepEqual(added.map((f) => f.id).sort(), [instanceId, 'total'].sort());
    for (const doc of added) {
      const fields = doc.fields as Record<string, unknown>;
      assert.equal(fields.online, true);
      assert.equal(typeof fields.connections, 'number');
      assert.deepEqual(Object.keys(fields.history as object).sort(), ['connections', 'connects', 'disconnects', 'endAt', 'stepMs']);
    }
    const other = await RawDdpClient.connect(app.wsUrl); // a connect the next sample counts
    const changed = await client.until((f) => f.msg === 'changed' && f.id === 'total', 3000);
    const fields = changed.fields as Record<string, unknown>;
    assert.ok(!('history' in fields), 'changed carries only the newest sample');
    assert.deepEqual(Object.keys(fields.latest as object).sort(), ['at', 'connections', 'connects', 'disconnects']);
    assert.ok((fields.connections as number) >= 2);
    other.client.close();
    client.close();
  });

  test('a non-monitor gets an empty, ready subscription', async () => {
    const { client } = await RawDdpClient.connect(app.wsUrl);
    client.send({ msg: 'sub', id: 's', name: STATS, params: [{ token: 'wrong' }] });
    await client.until((f) => f.msg === 'ready');
    await client.expectSilence(50);
    assert.equal(client.frames.filter((f) => f.msg === 'added').length, 0);
    client.close();
  });
});
