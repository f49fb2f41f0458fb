import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessNote, bridgeNote } from '../../client/dashboard/status-notes';

test('accessNote: no token → own connection (info); the server said monitor → everyone (ok); anything else → refused (warning)', () => {
  assert.deepEqual(accessNote(undefined, 'monitor'), { text: 'You see your own connection. A monitor token shows everyone.', kind: 'info', monitor: false });
  assert.equal(accessNote('', 'monitor').monitor, false, 'an empty token is no token');
  assert.deepEqual(accessNote('t', 'monitor'), { text: 'Monitor view: every connection.', kind: 'ok', monitor: true });
  for (const role of ['self', 'MONITOR', 'undefined', '']) {
    const note = accessNote('t', role);
    assert.equal(note.monitor, false, role);
    assert.equal(note.kind, 'warning');
  }
});

test('bridgeNote: without a bridge, connected, reconnecting (a warning), and missing fields', () => {
  assert.deepEqual(bridgeNote({ enabled: false }), { text: 'Instances: this one only (no MQTT bridge configured).', kind: 'info' });
  assert.deepEqual(bridgeNote({ enabled: true, connected: true, brokerUrl: 'mqtt://b:1883', remoteInstances: 2 }), {
    text: 'MQTT bridge: connected to mqtt://b:1883; 2 other instance(s) online.',
    kind: 'info',
  });
  assert.deepEqual(bridgeNote({ enabled: true, connected: false }), { text: 'MQTT bridge: reconnecting to ?; 0 other instance(s) online.', kind: 'warning' });
});
