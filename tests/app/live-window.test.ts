import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ListSort } from '../../imports/app/list-options';
import { LIVE_WINDOW_DEFAULTS, LiveWindow, type RecordScan, type WindowOperation } from '../../imports/app/live-window';
import type { PresenceFields } from '../../imports/app/presence-view';

/** A record at second `t`, on instance `inst` (default 'A'). */
const rec = (t: number, inst = 'A'): PresenceFields => ({ connectedAt: new Date(t * 1000), instanceId: inst });
const onlyA = (_id: string, f: PresenceFields) => f.instanceId === 'A';
const everything = () => true;

type Step =
  | { add: string; fields: PresenceFields }
  | { remove: string }
  | { change: string; fields: PresenceFields; changes: PresenceFields };

interface Case {
  name: string;
  limit: number;
  sort: ListSort;
  matches?: (id: string, f: PresenceFields) => boolean;
  initial: Record<string, PresenceFields>;
  /** The window right after fill, best first. */
  filled: string[];
  steps?: Step[];
  /** The operations of all steps, in order (fields of added/changed shown as their instanceId@second for brevity). */
  ops?: string[];
  /** The window at the end, best first. */
  final?: string[];
}

const cases: Case[] = [
  { name: 'newest: fill keeps the newest', limit: 2, sort: 'newest', initial: { a: rec(1), b: rec(2), c: rec(3) }, filled: ['c', 'b'] },
  { name: 'oldest: fill keeps the oldest', limit: 2, sort: 'oldest', initial: { a: rec(1), b: rec(2), c: rec(3) }, filled: ['a', 'b'] },
  { name: 'ties by _id (reversed for newest)', limit: 3, sort: 'newest', initial: { b: rec(1), a: rec(1), c: rec(1) }, filled: ['c', 'b', 'a'] },
  { name: 'ties by _id, oldest', limit: 3, sort: 'oldest', initial: { b: rec(1), a: rec(1), c: rec(1) }, filled: ['a', 'b', 'c'] },
  { name: 'filter applies to fill', limit: 5, sort: 'newest', matches: onlyA, initial: { a: rec(1), b: rec(2, 'B'), c: rec(3) }, filled: ['c', 'a'] },
  { name: 'fill with many more records than 2×limit', limit: 2, sort: 'oldest', initial: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`r${String(49 - i).padStart(2, '0')}`, rec(49 - i)])), filled: ['r00', 'r01'] },
  {
    name: 'newest: a newer record enters at the top and evicts the last',
    limit: 2, sort: 'newest', initial: { a: rec(1), b: rec(2) }, filled: ['b', 'a'],
    steps: [{ add: 'c', fields: rec(3) }], ops: ['added c A@3', 'removed a'], final: ['c', 'b'],
  },
  {
    name: 'oldest: a newer record does not enter a full window',
    limit: 2, sort: 'oldest', initial: { a: rec(1), b: rec(2) }, filled: ['a', 'b'],
    steps: [{ add: 'c', fields: rec(3) }], ops: [], final: ['a', 'b'],
  },
  {
    name: 'a record enters a window that is not full',
    limit: 3, sort: 'oldest', initial: { a: rec(1) }, filled: ['a'],
    steps: [{ add: 'c', fields: rec(3) }], ops: ['added c A@3'], final: ['a', 'c'],
  },
  {
    name: 'a non-matching record never enters',
    limit: 3, sort: 'oldest', matches: onlyA, initial: {}, filled: [],
    steps: [{ add: 'x', fields: rec(3, 'B') }], ops: [], final: [],
  },
  {
    name: 'a record leaving a full window is replaced by the next match',
    limit: 2, sort: 'newest', initial: { a: rec(1), b: rec(2), c: rec(3) }, filled: ['c', 'b'],
    steps: [{ remove: 'c' }], ops: ['removed c', 'added a A@1'], final: ['b', 'a'],
  },
  {
    name: 'a record leaving with no next match just leaves',
    limit: 2, sort: 'newest', initial: { a: rec(1), b: rec(2) }, filled: ['b', 'a'],
    steps: [{ remove: 'b' }], ops: ['removed b'], final: ['a'],
  },
  {
    name: 'a record outside the window leaving changes nothing',
    limit: 1, sort: 'newest', initial: { a: rec(1), b: rec(2) }, filled: ['b'],
    steps: [{ remove: 'a' }], ops: [], final: ['b'],
  },
  {
    name: 'a change inside the window at the same place is a changed',
    limit: 2, sort: 'newest', initial: { a: rec(1), b: rec(2) }, filled: ['b', 'a'],
    steps: [{ change: 'a', fields: { ...rec(1), userAgent: 'x' }, changes: { userAgent: 'x' } }], ops: ['changed a ua=x'], final: ['b', 'a'],
  },
  {
    name: 'a record that stops matching leaves and the next match enters',
    limit: 1, sort: 'newest', matches: onlyA, initial: { a: rec(1), b: rec(2) }, filled: ['b'],
    steps: [{ change: 'b', fields: rec(2, 'B'), changes: { instanceId: 'B' } }], ops: ['removed b', 'added a A@1'], final: ['a'],
  },
  {
    name: 'a record outside that starts matching enters',
    limit: 2, sort: 'newest', matches: onlyA, initial: { a: rec(1), b: rec(2, 'B') }, filled: ['a'],
    steps: [{ change: 'b', fields: rec(2), changes: { instanceId: 'A' } }], ops: ['added b A@2'], final: ['b', 'a'],
  },
  {
    name: 'a record whose rank drops out of a full window is swapped for the next',
    limit: 1, sort: 'newest', initial: { a: rec(1), b: rec(2) }, filled: ['b'],
    steps: [{ change: 'b', fields: rec(0), changes: { connectedAt: new Date(0) } }], ops: ['added a A@1', 'removed b'], final: ['a'],
  },
  {
    name: 'a record whose rank moves but stays in is a changed',
    limit: 2, sort: 'newest', initial: { a: rec(1), b: rec(2), c: rec(0) }, filled: ['b', 'a'],
    steps: [{ change: 'a', fields: rec(5), changes: { connectedAt: new Date(5000) } }], ops: ['changed a at=5'], final: ['a', 'b'],
  },
];

/** A tiny set the window follows: a Map, mutated before the window is told (as the view does). */
function runCase(c: Case): { filled: string[]; ops: string[]; final: string[] } {
  const set = new Map(Object.entries(c.initial));
  const scan: RecordScan = (visit) => {
    for (const [id, fields] of set) visit(id, fields);
  };
  const window = new LiveWindow({ limit: c.limit, sort: c.sort, matches: c.matches ?? everything });
  window.fill(scan);
  const filled = window.entries().map(([id]) => id);
  const ops: WindowOperation[] = [];
  for (const step of c.steps ?? []) {
    if ('add' in step) {
      set.set(step.add, step.fields);
      ops.push(...window.added(step.add, step.fields));
    } else if ('remove' in step) {
      set.delete(step.remove);
      ops.push(...window.removed(step.remove, scan));
    } else {
      set.set(step.change, step.fields);
      ops.push(...window.changed(step.change, step.fields, step.changes, scan));
    }
  }
  return { filled, ops: ops.map(describeOp), final: window.entries().map(([id]) => id) };
}

function describeOp(op: WindowOperation): string {
  if (op.type === 'removed') return `removed ${op.id}`;
  if (op.type === 'added') return `added ${op.id} ${op.fields.instanceId}@${(op.fields.connectedAt as Date).getTime() / 1000}`;
  const parts = Object.entries(op.fields).map(([k, v]) => (k === 'userAgent' ? `ua=${v}` : k === 'connectedAt' ? `at=${(v as Date).getTime() / 1000}` : `${k}=${v}`));
  return `changed ${op.id} ${parts.join(' ')}`;
}

describe('LiveWindow: the first `limit` matches of a live set, by connectedAt then _id', () => {
  for (const c of cases) {
    test(c.name, () => {
      const result = runCase(c);
      assert.deepEqual(result.filled, c.filled, 'after fill');
      if (c.ops) assert.deepEqual(result.ops, c.ops, 'operations');
      if (c.final) assert.deepEqual(result.final, c.final, 'final window');
    });
  }

  test('random churn, with reserves of 0, 1, 3 and the default: the window and a subscriber rebuilt from its operations always equal the brute-force answer', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const reserve of [0, 1, 3, undefined]) for (const sort of ['newest', 'oldest'] as const) {
      for (const limit of [1, 3, 7]) {
        const set = new Map<string, PresenceFields>();
        const scan: RecordScan = (visit) => {
          for (const [id, f] of set) visit(id, f);
        };
        const window = new LiveWindow({ limit, sort, matches: onlyA, reserve });
        window.fill(scan);
        const subscriber = new Map<string, PresenceFields>();
        const applyOps = (ops: WindowOperation[]) => {
          for (const op of ops) {
            if (op.type === 'added') {
              assert.ok(!subscriber.has(op.id), `added twice: ${op.id}`);
              subscriber.set(op.id, op.fields);
            } else if (op.type === 'removed') assert.ok(subscriber.delete(op.id), `removed while absent: ${op.id}`);
            else assert.ok(subscriber.has(op.id), `changed while absent: ${op.id}`);
          }
        };
        let next = 0;
        for (let i = 0; i < 400; i++) {
          const roll = random();
          const ids = [...set.keys()];
          const fields = rec(Math.floor(random() * 20), random() < 0.7 ? 'A' : 'B');
          if (roll < 0.5 || ids.length === 0) {
            const id = `s${next++}`;
            set.set(id, fields);
            applyOps(window.added(id, fields));
          } else if (roll < 0.85) {
            const id = ids[Math.floor(random() * ids.length)]!;
            set.delete(id);
            applyOps(window.removed(id, scan));
          } else {
            const id = ids[Math.floor(random() * ids.length)]!;
            set.set(id, fields);
            applyOps(window.changed(id, fields, fields, scan));
          }
          const expected = [...set.entries()]
            .filter(([id, f]) => onlyA(id, f))
            .sort(([ia, fa], [ib, fb]) => {
              const order = (fa.connectedAt as Date).getTime() - (fb.connectedAt as Date).getTime() || (ia < ib ? -1 : 1);
              return sort === 'oldest' ? order : -order;
            })
            .slice(0, limit)
            .map(([id]) => id);
          assert.deepEqual(window.entries().map(([id]) => id), expected, `${sort} limit ${limit} reserve ${reserve} step ${i}`);
          assert.deepEqual([...subscriber.keys()].sort(), [...expected].sort(), `subscriber, ${sort} limit ${limit} reserve ${reserve} step ${i}`);
        }
      }
    }
  });

  test('everyone leaves, newest first: one O(n) scan per reserve-many removals, not one per removal (bench fleet: 63 of 86 s were those scans)', () => {
    const set = new Map<string, PresenceFields>();
    for (let i = 0; i < 10_000; i++) set.set(`s${i}`, rec(i));
    let scans = 0;
    const scan: RecordScan = (visit) => {
      scans++;
      for (const [id, f] of set) visit(id, f);
    };
    const window = new LiveWindow({ limit: 100, sort: 'newest', matches: everything });
    window.fill(scan);
    scans = 0;
    for (let i = 9_999; i >= 5_000; i--) {
      set.delete(`s${i}`);
      const ops = window.removed(`s${i}`, scan);
      assert.deepEqual(ops.map(describeOp), [`removed s${i}`, `added s${i - 100} A@${i - 100}`]);
    }
    const reserve = Math.max(100, LIVE_WINDOW_DEFAULTS.minReserve);
    assert.ok(scans <= Math.ceil(5_000 / reserve), `${scans} scans for 5,000 removals`);
    assert.deepEqual(window.entries().map(([id]) => id), Array.from({ length: 100 }, (_, k) => `s${4_999 - k}`));
  });
});
