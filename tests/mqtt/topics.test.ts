import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redactUrl } from '../../imports/mqtt/mqtt-bridge';
import { parseStatus } from '../../imports/mqtt/status-message';
import { PresenceTopics } from '../../imports/mqtt/topics';

describe('MQTT topics and messages', () => {
  const topics = new PresenceTopics('presence');

  test('builds and parses the two topic kinds', () => {
    assert.equal(topics.status('i1'), 'presence/instances/i1/status');
    assert.equal(topics.connection('i1', 's1'), 'presence/instances/i1/connections/s1');
    assert.deepEqual(topics.parse('presence/instances/i1/status'), { kind: 'status', instanceId: 'i1' });
    assert.deepEqual(topics.parse('presence/instances/i1/connections/s1'), { kind: 'connection', instanceId: 'i1', sessionId: 's1' });
  });

  test('anything else is not ours', () => {
    for (const t of ['other/instances/i1/status', 'presence/instances/i1', 'presence/instances/i1/connections', 'presence/instances/i1/connections/s1/x', 'presence/instances//status', 'presence/instances/i1/whatever']) {
      assert.equal(topics.parse(t), null, t);
    }
  });

  test('status payloads are validated', () => {
    assert.deepEqual(parseStatus(Buffer.from('{"state":"online","epoch":5}')), { state: 'online', epoch: 5 });
    for (const bad of ['{', '[]', '{"state":"maybe","epoch":1}', '{"state":"online"}', '{"state":"online","epoch":-1}', '{"state":"online","epoch":1,"x":1}']) {
      assert.throws(() => parseStatus(Buffer.from(bad)), Error, bad);
    }
  });

  test('broker URLs are shown without credentials', () => {
    assert.equal(redactUrl('mqtt://user:secret@broker:1883'), 'mqtt://broker:1883');
    assert.equal(redactUrl('not a url'), '[invalid url]');
  });
});
