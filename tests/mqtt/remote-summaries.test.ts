import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RemoteState } from '../../imports/mqtt/remote-state';
import { SessionDigest } from '../../imports/mqtt/session-digest';
import { parseDigest, parseStatus } from '../../imports/mqtt/status-message';

/**
 * Issue 12: RemoteState's summaries (an online instance's current run's
 * latest digest) and records held on demand (dropRecords / wantRecords).
 */
const NOW = 1_700_000_000_000;
const E = NOW - 60_000;

function digestOf(ids: string[], seq: number, connects = ids.length, disconnects = 0, epoch = E) {
  const d = new SessionDigest();
  for (const id of ids) d.add(id);
  return { epoch, seq, ...d.value(), connects, disconnects };
}
const record = (id: string, instanceId = 'A') => ({ record: { _id: id, instanceId, connectedAt: new Date(NOW) }, epoch: E });

describe('RemoteState summaries', () => {
  test('only online instances, only their current run; the latest sequence wins', () => {
    const state = new RemoteState();
    state.digest('A', digestOf(['a1', 'a2'], 1, 5, 3), NOW); // digest before the status: not online yet
    assert.deepEqual([...state.summaries()], []);
    state.status('A', { state: 'online', epoch: E }, NOW);
    assert.deepEqual([...state.summaries()], [{ instanceId: 'A', epoch: E, connections: 2, connects: 5, disconnects: 3 }]);
    state.digest('A', digestOf(['a1'], 0), NOW); // older sequence: ignored
    assert.equal([...state.summaries()][0]!.connections, 2);
    state.status('A', { state: 'offline', epoch: E }, NOW); // its Will
    assert.deepEqual([...state.summaries()], []);
  });

  test('a digest from an instance that predates the counters has 0 connects and disconnects', () => {
    const state = new RemoteState();
    state.status('A', { state: 'online', epoch: E }, NOW);
    const { connects: _c, disconnects: _d, ...old } = digestOf(['a1'], 1);
    state.digest('A', old, NOW);
    assert.deepEqual([...state.summaries()], [{ instanceId: 'A', epoch: E, connections: 1, connects: 0, disconnects: 0 }]);
  });

  test('a rolling deploy: keys a newer instance adds are dropped, not refused (status and digest)', () => {
    const base = { epoch: E, seq: 1, count: 1, hash: '0123456789abcdef', connects: 1, disconnects: 0 };
    assert.deepEqual(parseDigest(Buffer.from(JSON.stringify({ ...base, futureField: { x: 1 } }))), base);
    assert.deepEqual(parseStatus(Buffer.from(JSON.stringify({ state: 'online', epoch: E, region: 'eu' }))), { state: 'online', epoch: E });
  });

  test('summary counters are validated: negative or fractional counters are refused', () => {
    const base = { epoch: E, seq: 1, count: 1, hash: '0123456789abcdef' };
    assert.doesNotThrow(() => parseDigest(Buffer.from(JSON.stringify({ ...base, connects: 3, disconnects: 2 }))));
    for (const bad of [{ connects: -1 }, { disconnects: 1.5 }, { connects: '3' }]) {
      assert.throws(() => parseDigest(Buffer.from(JSON.stringify({ ...base, ...bad }))), JSON.stringify(bad));
    }
  });
});

describe('RemoteState records on demand', () => {
  test('dropRecords hides everything and ignores records and digest checks until wantRecords; statuses and summaries stay', () => {
    const state = new RemoteState();
    state.status('A', { state: 'online', epoch: E }, NOW);
    state.record('A', record('a1'), NOW);
    state.record('A', record('a2'), NOW);
    const ops = state.dropRecords();
    assert.deepEqual(ops.map((o) => o.op).sort(), ['hide', 'hide']);
    assert.equal(state.recordCount, 0);
    assert.equal(state.holdsRecords, false);
    assert.deepEqual(state.record('A', record('a3'), NOW), [], 'a record in flight is ignored');
    assert.equal(state.recordCount, 0);
    // A digest that disagrees with the (empty) view asks for nothing while records are not held.
    assert.deepEqual(state.digest('A', digestOf(['a1', 'a2', 'a3'], 2), NOW), []);
    assert.equal(state.isOnline('A'), true);
    assert.equal([...state.summaries()][0]!.connections, 3);

    state.wantRecords();
    state.beginResync(null, false); // a records-only fetch keeps the statuses it has
    state.record('A', record('a1'), NOW);
    state.record('A', record('a2'), NOW);
    state.record('A', record('a3'), NOW);
    const ended = state.endResync(null, NOW + 2_000);
    assert.deepEqual(ended, [], 'no forgetting, no digest mismatch: the fetch brought everything');
    assert.equal(state.recordCount, 3);
    assert.deepEqual([...state.shownRecords()].map((r) => r._id).sort(), ['a1', 'a2', 'a3']);
  });
});
