import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StatsStore } from '../../client/dashboard/stats-store';

const T = 1_795_000_000_000;

test('added: the history is placed one step apart ending at endAt; live fields are read', () => {
  const stats = new StatsStore();
  stats.added('total', {
    connections: 7, connectsPerSecond: 2, disconnectsPerSecond: 1, online: true,
    history: { stepMs: 1000, endAt: T, connections: [5, 6, 7], connects: [0, 2, 2], disconnects: [0, 1, 1] },
  });
  const s = stats.get('total')!;
  assert.deepEqual(s.at, [T - 2000, T - 1000, T]);
  assert.equal(s.connections, 7);
  assert.deepEqual(stats.chartData('total'), [[(T - 2000) / 1000, (T - 1000) / 1000, T / 1000], [5, 6, 7], [0, 2, 2], [0, 1, 1]]);
});

test('changed: latest is appended once (a repeat or an older sample is ignored); the window is kept', () => {
  const stats = new StatsStore();
  stats.added('i1', { history: { stepMs: 500, endAt: T, connections: new Array(900).fill(1), connects: new Array(900).fill(0), disconnects: new Array(900).fill(0) } });
  stats.changed('i1', { connections: 2, online: false, latest: { at: T + 500, connections: 2, connects: 1, disconnects: 0 } });
  stats.changed('i1', { latest: { at: T + 500, connections: 9, connects: 9, disconnects: 9 } });
  stats.changed('i1', { latest: { at: T - 1, connections: 9, connects: 9, disconnects: 9 } });
  const s = stats.get('i1')!;
  assert.equal(s.at.length, 900, 'oldest sample dropped');
  assert.equal(s.at.at(-1), T + 500);
  assert.equal(s.connectionsHistory.at(-1), 2);
  assert.equal(s.online, false);
  assert.equal(stats.chartData('i1')[2].at(-1), 2, 'connects per second at a 500 ms step');
});

test('instances() lists everything but the total, by id; removed and malformed documents are harmless', () => {
  const stats = new StatsStore();
  for (const id of ['total', 'b', 'a']) stats.added(id, { connections: 1 });
  stats.added('bad', { history: 'nope', connections: 'x', latest: 5 });
  assert.deepEqual(stats.instances().map((s) => s.id), ['a', 'b', 'bad']);
  assert.equal(stats.get('bad')!.connections, 0);
  stats.removed('a');
  stats.changed('a', { connections: 3 });
  assert.deepEqual(stats.instances().map((s) => s.id), ['b', 'bad']);
  assert.deepEqual(stats.chartData('nobody'), [[], [], [], []]);
});
