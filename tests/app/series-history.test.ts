// Unit tests of the SeriesHistory ring (order, wrap-around, idleness, uint32 caveat), beyond the one ring case inside live-stats.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeriesHistory, type StatsSample } from '../../imports/app/series-history';

const sample = (at: number, connections: number, connects = 0, disconnects = 0): StatsSample => ({ at, connections, connects, disconnects });

describe('SeriesHistory', () => {
  test('the doc comment example', () => {
    const h = new SeriesHistory(900);
    h.push({ at: 1700000000000, connections: 5, connects: 2, disconnects: 0 });
    assert.deepEqual(h.toArrays(), { endAt: 1700000000000, connections: [5], connects: [2], disconnects: [0] });
    assert.equal(h.size, 1);
    assert.equal(h.capacity, 900);
  });

  test('empty: endAt 0, empty arrays, idle', () => {
    const h = new SeriesHistory(3);
    assert.equal(h.size, 0);
    assert.deepEqual(h.toArrays(), { endAt: 0, connections: [], connects: [], disconnects: [] });
    assert.equal(h.isIdle(), true);
  });

  test('below capacity every sample is kept, oldest first, per column', () => {
    const h = new SeriesHistory(5);
    h.push(sample(1000, 1, 10, 100));
    h.push(sample(2000, 2, 20, 200));
    h.push(sample(3000, 3, 30, 300));
    assert.equal(h.size, 3);
    assert.deepEqual(h.toArrays(), { endAt: 3000, connections: [1, 2, 3], connects: [10, 20, 30], disconnects: [100, 200, 300] });
  });

  test('exactly at capacity nothing is dropped; one more drops the oldest', () => {
    const h = new SeriesHistory(3);
    for (let i = 1; i <= 3; i++) h.push(sample(i * 1000, i));
    assert.deepEqual(h.toArrays().connections, [1, 2, 3]);
    h.push(sample(4000, 4));
    assert.equal(h.size, 3);
    assert.deepEqual(h.toArrays(), { endAt: 4000, connections: [2, 3, 4], connects: [0, 0, 0], disconnects: [0, 0, 0] });
  });

  test('after many wraps the last `capacity` samples come out in order', () => {
    const h = new SeriesHistory(7);
    for (let i = 1; i <= 100_003; i++) h.push(sample(i, i, i % 5, i % 3));
    assert.equal(h.size, 7);
    const expected = Array.from({ length: 7 }, (_, k) => 99_997 + k);
    assert.deepEqual(h.toArrays(), {
      endAt: 100_003,
      connections: expected,
      connects: expected.map((i) => i % 5),
      disconnects: expected.map((i) => i % 3),
    });
  });

  test('capacity 1 keeps only the newest sample', () => {
    const h = new SeriesHistory(1);
    h.push(sample(1, 9));
    h.push(sample(2, 8, 1, 2));
    assert.deepEqual(h.toArrays(), { endAt: 2, connections: [8], connects: [1], disconnects: [2] });
  });

  test('endAt is the last `at` pushed; a gap between samples is not filled in', () => {
    const h = new SeriesHistory(10);
    h.push(sample(1000, 1));
    h.push(sample(60_000, 2));
    assert.deepEqual(h.toArrays(), { endAt: 60_000, connections: [1, 2], connects: [0, 0], disconnects: [0, 0] });
  });

  test('isIdle: true only while every held sample is zero in every column', () => {
    const h = new SeriesHistory(3);
    h.push(sample(1, 0));
    assert.equal(h.isIdle(), true);
    h.push(sample(2, 0, 0, 1));
    assert.equal(h.isIdle(), false, 'a disconnect alone is activity');
    h.push(sample(3, 0));
    h.push(sample(4, 0));
    assert.equal(h.isIdle(), false, 'the disconnect is still in the window');
    h.push(sample(5, 0));
    assert.equal(h.isIdle(), true, 'the disconnect has left the window');
    h.push(sample(6, 0, 1));
    assert.equal(h.isIdle(), false, 'a connect alone is activity');
  });

  test('isIdle ignores samples that were overwritten', () => {
    const h = new SeriesHistory(2);
    h.push(sample(1, 50, 50, 50));
    h.push(sample(2, 0));
    h.push(sample(3, 0));
    assert.equal(h.isIdle(), true);
  });

  test('toArrays returns fresh plain arrays: changing them does not change the ring', () => {
    const h = new SeriesHistory(3);
    h.push(sample(1, 4, 5, 6));
    const first = h.toArrays();
    assert.ok(Array.isArray(first.connections));
    first.connections[0] = 99;
    first.connects.push(1);
    assert.deepEqual(h.toArrays(), { endAt: 1, connections: [4], connects: [5], disconnects: [6] });
  });

  test('counts up to 2^32 − 1 are kept exactly; outside that they are mangled, as the caveat says', () => {
    const h = new SeriesHistory(2);
    h.push(sample(1, 2 ** 32 - 1, 0, 0));
    assert.deepEqual(h.toArrays().connections, [2 ** 32 - 1]);
    h.push({ at: 2, connections: -1, connects: 1.9, disconnects: 2 ** 32 });
    const last = h.toArrays();
    assert.equal(last.connections[1], 2 ** 32 - 1, '-1 wraps');
    assert.equal(last.connects[1], 1, 'a fraction is cut');
    assert.equal(last.disconnects[1], 0, '2^32 wraps to 0');
  });

  test('900 samples (15 minutes at 1 s) are kept at the default size', () => {
    const h = new SeriesHistory(900);
    for (let i = 0; i < 2000; i++) h.push(sample(i * 1000, i));
    assert.equal(h.size, 900);
    const arrays = h.toArrays();
    assert.equal(arrays.connections[0], 1100);
    assert.equal(arrays.connections[899], 1999);
    assert.equal(arrays.endAt, 1_999_000);
  });
});
