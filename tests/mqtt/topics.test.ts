import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redactUrl } from '../../imports/mqtt/mqtt-bridge';
import { parseDigest, parseStatus } from '../../imports/mqtt/status-message';
import { PresenceTopics } from '../../imports/mqtt/topics';

describe('MQTT topics and messages', () => {
  const topics = new PresenceTopics('presence');

  test('builds and parses the four topic kinds', () => {
    assert.equal(topics.status('i1'), 'presence/instances/i1/status');
    assert.equal(topics.digest('i1'), 'presence/instances/i1/digest');
    assert.equal(topics.connection('i1', 's1'), 'presence/instances/i1/connections/s1');
    assert.equal(topics.sync('i1'), 'presence/sync/i1');
    assert.deepEqual(topics.parse('presence/instances/i1/status'), { kind: 'status', instanceId: 'i1' });
    assert.deepEqual(topics.parse('presence/instances/i1/digest'), { kind: 'digest', instanceId: 'i1' });
    assert.deepEqual(topics.parse('presence/instances/i1/connections/s1'), { kind: 'connection', instanceId: 'i1', sessionId: 's1' });
    assert.deepEqual(topics.parse('presence/sync/i1'), { kind: 'sync', instanceId: 'i1' });
  });

  test('wildcards: all statuses, digests and records, or one instance\'s records (for a resync)', () => {
    assert.equal(topics.statusWildcard, 'presence/instances/+/status');
    assert.equal(topics.digestWildcard, 'presence/instances/+/digest');
    assert.equal(topics.connectionsWildcard, 'presence/instances/+/connections/+');
    assert.equal(topics.connectionsOf('i1'), 'presence/instances/i1/connections/+');
    assert.equal(new PresenceTopics('team/a').sync('i1'), 'team/a/sync/i1');
    assert.deepEqual(new PresenceTopics('team/a').parse('team/a/instances/i1/digest'), { kind: 'digest', instanceId: 'i1' });
  });

  test('anything else is not ours', () => {
    for (const t of [
      'other/instances/i1/status',
      'presence/instances/i1',
      'presence/instances/i1/connections',
      'presence/instances/i1/connections/s1/x',
      'presence/instances//status',
      'presence/instances//digest',
      'presence/instances/i1/whatever',
      'presence/instances/i1/digest/x',
      'presence/sync/',
      'presence/sync/a/b',
      'presence/sync/a+b',
      'presence/sync/' + 'x'.repeat(65),
      'presence/instances/' + 'x'.repeat(65) + '/status',
    ]) {
      assert.equal(topics.parse(t), null, t);
    }
  });

  test('digest payloads are validated', () => {
    const good = { epoch: 5, seq: 0, count: 2, hash: '0123456789abcdef' };
    assert.deepEqual(parseDigest(Buffer.from(JSON.stringify(good))), good);
    // Keys a newer instance adds are dropped, not refused (a rolling deploy: tests/mqtt/remote-summaries.test.ts).
    assert.deepEqual(parseDigest(Buffer.from(JSON.stringify({ ...good, extra: 1 }))), good);
    for (const bad of [
      '{',
      '[]',
      'null',
      JSON.stringify({ ...good, hash: '0123' }),
      JSON.stringify({ ...good, hash: '0123456789ABCDEF' }),
      JSON.stringify({ ...good, count: -1 }),
      JSON.stringify({ ...good, seq: 1.5 }),
      JSON.stringify({ ...good, epoch: -1 }),
      JSON.stringify({ epoch: 5, seq: 0, count: 2 }),
    ]) {
      assert.throws(() => parseDigest(Buffer.from(bad)), Error, bad);
    }
  });

  test('status payloads are validated', () => {
    assert.deepEqual(parseStatus(Buffer.from('{"state":"online","epoch":5}')), { state: 'online', epoch: 5 });
    assert.deepEqual(parseStatus(Buffer.from('{"state":"online","epoch":1,"x":1}')), { state: 'online', epoch: 1 }, 'a newer key is dropped');
    for (const bad of ['{', '[]', '{"state":"maybe","epoch":1}', '{"state":"online"}', '{"state":"online","epoch":-1}']) {
      assert.throws(() => parseStatus(Buffer.from(bad)), Error, bad);
    }
  });

  test('broker URLs are shown without credentials', () => {
    assert.equal(redactUrl('mqtt://user:secret@broker:1883'), 'mqtt://broker:1883');
    assert.equal(redactUrl('not a url'), '[invalid url]');
  });
});
