import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import type { FleetSummaries, InstanceSummary } from '../../imports/app/fleet-summaries';
import { LiveCount } from '../../imports/app/live-count';
import { LiveStats } from '../../imports/app/live-stats';
import type { PresenceFields } from '../../imports/app/presence-view';
import { captureLogger } from '../helpers/capture-logger';

/**
 * Issue 12: with fleet summaries, the count and presence.stats count other
 * instances from their summaries and only this instance's own records from
 * the view (others' records are there only while a monitor looks).
 */
const OWN = 'own';

class FakeSummaries implements FleetSummaries {
  summaries = new Map<string, InstanceSummary>();
  private listeners = new Set<() => void>();
  current() {
    return this.summaries.values();
  }
  onChange(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(instanceId: string, connections: number, connects: number, disconnects: number, epoch = 1) {
    this.summaries.set(instanceId, { instanceId, epoch, connections, connects, disconnects });
    for (const l of this.listeners) l();
  }
  gone(instanceId: string) {
    this.summaries.delete(instanceId);
    for (const l of this.listeners) l();
  }
}

class FakeView {
  private observers: Array<{ added(id: string, f: PresenceFields): void; removed(id: string, f: PresenceFields): void }> = [];
  observe(callbacks: (typeof this.observers)[number]) {
    this.observers.push(callbacks);
  }
  add(id: string, instanceId: string) {
    for (const o of this.observers) o.added(id, { instanceId });
  }
  remove(id: string, instanceId: string) {
    for (const o of this.observers) o.removed(id, { instanceId });
  }
}

function countSubscriber() {
  const sent: number[] = [];
  const sub = {
    connection: { id: 's' },
    added: (_c: string, _id: string, f: { count: number }) => void sent.push(f.count),
    changed: (_c: string, _id: string, f: { count: number }) => void sent.push(f.count),
    onStop() {},
    ready() {},
  };
  return { sub: sub as never, sent };
}

describe('LiveCount from summaries', () => {
  test('own records from the view plus others\' summaries; others\' records in the view are not counted twice', (t) => {
    mock.timers.enable({ apis: ['setTimeout'] }); // the count's 5 ms coalescing window
    t.after(() => mock.timers.reset());
    const view = new FakeView();
    const summaries = new FakeSummaries();
    summaries.set('B', 100, 100, 0);
    const count = new LiveCount(5, captureLogger().log);
    count.start(view, { ownInstanceId: OWN, summaries });
    view.add('o1', OWN);
    view.add('b1', 'B'); // a monitor looks: B's records arrive, already counted by B's summary
    assert.equal(count.value, 101);
    summaries.set('C', 7, 7, 0);
    assert.equal(count.value, 108);
    summaries.gone('B'); // B went offline
    view.remove('b1', 'B');
    assert.equal(count.value, 8);
    const { sub, sent } = countSubscriber();
    count.serve(sub);
    view.remove('o1', OWN);
    assert.deepEqual(sent, [8], 'not before the window ends');
    mock.timers.tick(5);
    assert.deepEqual(sent, [8, 7], 'coalesced pushes to subscribers');
  });
});

describe('LiveStats from summaries', () => {
  test('remote series from summaries (rates from total differences, a new run adds none), the total sums them; others\' view records are ignored', () => {
    let clock = 1_000_000;
    const view = new FakeView();
    const summaries = new FakeSummaries();
    const stats = new LiveStats({ ownInstanceId: OWN, log: captureLogger().log, historyLength: 10, now: () => clock, summaries, isOnline: (id) => summaries.summaries.has(id) });
    stats.start(view);
    stats.stop(); // steps are driven by hand below
    const docs = new Map<string, Record<string, unknown>>();
    stats.serve({
      connection: { id: 's' } as never,
      added: (_c, id, f) => void docs.set(id, { ...f }),
      changed: (_c, id, f) => void Object.assign(docs.get(id) ?? docs.set(id, {}).get(id)!, f),
      removed: (_c, id) => void docs.delete(id),
      ready() {},
      onStop() {},
    });
    const step = () => {
      clock += 1000;
      stats.step();
    };
    summaries.set('B', 50, 500, 450, 1); // first sight: its lifetime totals are not this second's connects
    view.add('o1', OWN);
    view.add('b1', 'B');
    step();
    assert.deepEqual(pick(docs.get('B')), { connections: 50, connectsPerSecond: 0, disconnectsPerSecond: 0, online: true });
    assert.deepEqual(pick(docs.get('total')), { connections: 51, connectsPerSecond: 1, disconnectsPerSecond: 0, online: true });
    summaries.set('B', 53, 505, 452, 1);
    step();
    assert.deepEqual(pick(docs.get('B')), { connections: 53, connectsPerSecond: 5, disconnectsPerSecond: 2, online: true });
    assert.deepEqual(pick(docs.get('total')), { connections: 54, connectsPerSecond: 5, disconnectsPerSecond: 2, online: true });
    summaries.set('B', 3, 3, 0, 2); // B restarted: a new run's totals start again, no negative rates
    step();
    assert.deepEqual(pick(docs.get('B')), { connections: 3, connectsPerSecond: 0, disconnectsPerSecond: 0, online: true });
    summaries.gone('B');
    step();
    assert.deepEqual(pick(docs.get('B')), { connections: 0, connectsPerSecond: 0, disconnectsPerSecond: 0, online: false });
    assert.equal((docs.get('total') as { connections: number }).connections, 1);
  });
});

function pick(doc: Record<string, unknown> | undefined) {
  const { connections, connectsPerSecond, disconnectsPerSecond, online } = doc ?? {};
  return { connections, connectsPerSecond, disconnectsPerSecond, online };
}
