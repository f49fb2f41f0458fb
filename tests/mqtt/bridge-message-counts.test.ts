// Unit tests of BridgeMessageCounts on a fake mqtt.js client: which packets count, under which kind and direction, without a broker.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type BridgeMessageDirection, BridgeMessageCounts, type BridgeMessageKind } from '../../imports/mqtt/bridge-message-counts';
import { PresenceTopics } from '../../imports/mqtt/topics';

const KINDS: BridgeMessageKind[] = ['status', 'digest', 'record', 'sync'];
const topics = new PresenceTopics('presence');

function setup() {
  const client = new EventEmitter();
  const counts = new BridgeMessageCounts(topics);
  counts.watch(client as unknown as MqttClient);
  const send = (topic: string, cmd = 'publish') => client.emit('packetsend', { cmd, topic });
  const receive = (topic: string, cmd = 'publish') => client.emit('packetreceive', { cmd, topic });
  const all = () => Object.fromEntries((['in', 'out'] as BridgeMessageDirection[]).map((d) => [d, Object.fromEntries(KINDS.map((k) => [k, counts.get(d, k)]))]));
  return { client, counts, send, receive, all };
}

const ZERO = { status: 0, digest: 0, record: 0, sync: 0 };

describe('BridgeMessageCounts', () => {
  test('everything starts at zero', () => {
    assert.deepEqual(setup().all(), { in: ZERO, out: ZERO });
  });

  test('each PUBLISH is counted once, by direction and by the kind its topic names', () => {
    const { send, receive, all } = setup();
    send(topics.status('i1'));
    send(topics.digest('i1'));
    send(topics.digest('i1'));
    send(topics.connection('i1', 's1'));
    send(topics.sync('i1'));
    receive(topics.status('i2'));
    receive(topics.connection('i2', 's9'));
    receive(topics.connection('i2', 's10'));
    receive(topics.connection('i2', 's11'));
    assert.deepEqual(all(), { in: { ...ZERO, status: 1, record: 3 }, out: { status: 1, digest: 2, record: 1, sync: 1 } });
  });

  test('a record removal (empty payload) is still a record: the topic decides', () => {
    const { client, counts } = setup();
    client.emit('packetreceive', { cmd: 'publish', topic: topics.connection('i2', 's1'), payload: Buffer.alloc(0) });
    assert.equal(counts.get('in', 'record'), 1);
  });

  test('other packets are not counted', () => {
    const { send, receive, all } = setup();
    for (const cmd of ['puback', 'pubrec', 'subscribe', 'suback', 'connect', 'connack', 'pingreq', 'pingresp', 'disconnect', 'PUBLISH']) {
      send(topics.status('i1'), cmd);
      receive(topics.status('i1'), cmd);
    }
    assert.deepEqual(all(), { in: ZERO, out: ZERO });
  });

  test('topics outside the scheme are not counted', () => {
    const { send, receive, all } = setup();
    for (const topic of [
      '',
      'presence',
      'presence/instances/i1',
      'presence/instances/i1/status/extra',
      'presence/instances/i1/connections',
      'presence/instances/i1/connections/a/b',
      'presence/instances/i1/unknown',
      'presence/instances/a+b/status',
      'presence/instances/#/digest',
      'presence/sync/',
      'presence/sync/a/b',
      'other/instances/i1/status',
      'presencex/instances/i1/status',
      '$SYS/broker/uptime',
      'presence/instances/' + 'x'.repeat(65) + '/status',
    ]) {
      send(topic);
      receive(topic);
    }
    assert.deepEqual(all(), { in: ZERO, out: ZERO });
  });

  test('prototype-like ids are counted under their kind, not as new keys', () => {
    const { receive, all } = setup();
    receive(topics.status('__proto__'));
    receive(topics.connection('constructor', 'toString'));
    receive(topics.sync('hasOwnProperty'));
    assert.deepEqual(all(), { in: { status: 1, digest: 0, record: 1, sync: 1 }, out: ZERO });
  });

  test('100,000 packets are counted exactly', () => {
    const { send, counts } = setup();
    for (let i = 0; i < 100_000; i++) send(topics.connection('i1', `s${i}`));
    assert.equal(counts.get('out', 'record'), 100_000);
  });

  test('a second client watched adds to the same counts', () => {
    const { counts, send } = setup();
    const other = new EventEmitter();
    counts.watch(other as unknown as MqttClient);
    send(topics.status('i1'));
    other.emit('packetsend', { cmd: 'publish', topic: topics.status('i1') });
    assert.equal(counts.get('out', 'status'), 2);
  });

  test('the prefix is the one the topics were built with', () => {
    const counts = new BridgeMessageCounts(new PresenceTopics('team/a'));
    const client = new EventEmitter();
    counts.watch(client as unknown as MqttClient);
    client.emit('packetreceive', { cmd: 'publish', topic: 'presence/instances/i1/status' });
    client.emit('packetreceive', { cmd: 'publish', topic: 'team/a/instances/i1/status' });
    assert.equal(counts.get('in', 'status'), 1);
  });
});
