import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { LiveStats, STATS_NAMES, type StatsSource } from '../../imports/app/live-stats';
import type { PresenceFields } from '../../imports/app/presence-view';
import { SeriesHistory } from '../../imports/app/series-history';
import { captureLogger } from '../helpers/capture-logger';

const OWN = 'own';

/** A presence-view double: records by id, observers told of each change. */
class FakeView implements StatsSource {
  readonly records = new Map<string, PresenceFields>();
  private readonly observers: Array<{ added(id: string, f: PresenceFields): void; removed(id: string, f: PresenceFields): void }> = [];
  observe(callbacks: (typeof this.observers)[number]) {
    for (const [id, f] of this.records) callbacks.added(id, f);
    this.observers.push(callbacks);
  }
  add(id: string, instanceId: string) {
    const f = { instanceId };
    this.records.set(id, f);
    for (const o of this.observers) o.added(id, f);
  }
  remove(id: string) {
    const f = this.records.get(id)!;
    this.records.delete(id);
    for (const o of this.observers) o.removed(id, f);
  }
}

/** A subscription double holding the documents as a Meteor client would, plus every frame. */
function fakeSub() {
  const docs = new Map<string, Record<string, unknown>>();
  const frames: Array<{ msg: string; id: string; fields?: Record<string, unknown> }> = [];
  let ready = false;
  const sub = {
    connection: { id: 'sub-session' } as never,
    added: (_c: string, id: string, fields: Record<string, unknown>) => {
      assert.ok(!docs.has(id), `added twice: ${id}`);
      docs.set(id, { ...fields });
      frames.push({ msg: 'added', id, fields });
    },
    changed: (_c: string, id: string, fields: Record<string, unknown>) => {
      assert.ok(docs.has(id), `changed before added: ${id}`);
      Object.assign(docs.get(id)!, fields);
      frames.push({ msg: 'changed', id, fields });
    },
    removed: (_c: string, id: string) => {
      assert.ok(docs.delete(id), `removed while absent: ${id}`);
      frames.push({ msg: 'removed', id });
    },
    ready: () => void (ready = true),
    onStop: (_cb: () => void) => {},
  };
  return { sub, docs, frames, isReady: () => ready };
}

/** Stats over a fake view, on mocked timers: `tick()` is one sampling step (clock and timer advance together). */
function setup(t: TestContext, historyLength = 5, isOnline?: (instanceId: string) => boolean) {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let clock = 1_000_000;
  const view = new FakeView();
  const stats = new LiveStats({ ownInstanceId: OWN, log: captureLogger().log, historyLength, now: () => clock, isOnline });
  const tick = () => {
    clock += 1000;
    t.mock.timers.tick(1000);
  };
  return { view, stats, tick };
}

describe('SeriesHistory: a ring of per-second samples', () => {
  test('keeps the last `capacity` samples, oldest first', () => {
    const h = new SeriesHistory(3);
    for (let i = 1; i <= 5; i++) h.push({ at: i * 1000, connections: i, connects: i * 10, disconnects: 0 });
    assert.deepEqual(h.toArrays(), { endAt: 5000, connections: [3, 4, 5], connects: [30, 40, 50], disconnects: [0, 0, 0] });
    assert.equal(h.isIdle(), false);
    for (let i = 0; i < 3; i++) h.push({ at: 0, connections: 0, connects: 0, disconnects: 0 });
    assert.equal(h.isIdle(), true);
  });
});

describe('LiveStats: presence.stats, one shared sampler', () => {
  test('one doc per instance and a total, with history on added and only the newest sample on changed', (t) => {
    const { view, stats, tick } = setup(t);
    view.add('pre-1', OWN); // in the view before start: a connection, not a connect
    stats.start(view);
    const { sub, docs, frames, isReady } = fakeSub();
    stats.serve(sub);
    assert.ok(isReady());
    assert.deepEqual([...docs.keys()].sort(), [OWN, STATS_NAMES.totalId]);
    assert.deepEqual(docs.get(STATS_NAMES.totalId), {
      connections: 1, connectsPerSecond: 0, disconnectsPerSecond: 0, online: true,
      history: { stepMs: 1000, endAt: 0, connections: [], connects: [], disconnects: [] },
    });

    view.add('a', OWN);
    view.add('b', OWN);
    view.add('r1', 'remote');
    view.remove('pre-1');
    assert.equal(frames.length, 2, 'nothing pushed between samples');
    tick();
    const total = docs.get(STATS_NAMES.totalId)!;
    assert.equal(total.connections, 3);
    assert.equal(total.connectsPerSecond, 3);
    assert.equal(total.disconnectsPerSecond, 1);
    assert.deepEqual(total.latest, { at: 1_001_000, connections: 3, connects: 3, disconnects: 1 });
    assert.deepEqual(docs.get(OWN)!.latest, { at: 1_001_000, connections: 2, connects: 2, disconnects: 1 });
    const remoteAdded = frames.find((f) => f.msg === 'added' && f.id === 'remote')!;
    assert.deepEqual(remoteAdded.fields!.history, { stepMs: 1000, endAt: 1_001_000, connections: [1], connects: [1], disconnects: [0] });
    assert.equal(remoteAdded.fields!.online, true);
    const changed = frames.filter((f) => f.msg === 'changed');
    assert.equal(changed.length, 2, 'one changed per existing series per step');
    for (const c of changed) assert.ok(!('history' in c.fields!), 'changed never carries the whole history');
    tick();
    assert.equal(docs.get(STATS_NAMES.totalId)!.connectsPerSecond, 0, 'a quiet second');
  });

  test('a subscriber arriving later gets the whole history at once', (t) => {
    const { view, stats, tick } = setup(t, 3);
    stats.start(view);
    for (let i = 0; i < 5; i++) {
      view.add(`s${i}`, OWN);
      tick();
    }
    const { sub, docs } = fakeSub();
    stats.serve(sub);
    assert.deepEqual(docs.get(OWN)!.history, { stepMs: 1000, endAt: 1_005_000, connections: [3, 4, 5], connects: [1, 1, 1], disconnects: [0, 0, 0] });
  });

  test('a remote instance gone quiet for the whole window is removed; this instance and total stay', (t) => {
    const { view, stats, tick } = setup(t, 2);
    stats.start(view);
    const { sub, docs, frames } = fakeSub();
    stats.serve(sub);
    view.add('r', 'remote');
    tick();
    assert.ok(docs.has('remote'));
    view.remove('r');
    tick(); // a disconnect in this sample
    assert.equal(docs.get('remote')!.online, false, 'no records and no liveness source: offline');
    tick();
    tick(); // two quiet samples: the whole window
    assert.ok(!docs.has('remote'));
    assert.deepEqual([...docs.keys()].sort(), [OWN, STATS_NAMES.totalId]);
    assert.equal(frames.filter((f) => f.msg === 'removed').length, 1);
  });

  test('an injected isOnline decides `online`, asked at every step: a Will shows at the next sample though the records are still in the view', (t) => {
    const up = new Set(['remote']);
    const asked: string[] = [];
    const { view, stats, tick } = setup(t, 5, (id) => (asked.push(id), up.has(id)));
    stats.start(view);
    const { sub, docs, frames } = fakeSub();
    stats.serve(sub);
    assert.equal(docs.get(OWN)!.online, true, 'this instance is never asked about');
    assert.equal(docs.get(STATS_NAMES.totalId)!.online, true);
    view.add('r1', 'remote');
    tick();
    assert.equal(docs.get('remote')!.online, true);
    assert.deepEqual([...new Set(asked)], ['remote'], 'only remote instances are asked');

    up.delete('remote'); // its Will arrived; its record has not left the view yet
    const before = frames.length;
    tick();
    const change = frames.slice(before).find((f) => f.msg === 'changed' && f.id === 'remote')!;
    assert.equal(change.fields!.online, false, 'the very next sample says offline');
    assert.equal(change.fields!.connections, 1, 'while its record is still counted');

    view.remove('r1');
    up.add('remote'); // a new run, no connections yet
    tick();
    assert.equal(docs.get('remote')!.online, true, 'online without records: liveness, not record count, decides');
    assert.equal(docs.get('remote')!.connections, 0);

    // A subscriber arriving now gets the current answer in its `added`.
    up.delete('remote');
    const late = fakeSub();
    stats.serve(late.sub);
    assert.equal(late.docs.get('remote')!.online, false);
  });

  test('stop ends sampling', (t) => {
    const { view, stats, tick } = setup(t);
    stats.start(view);
    const { sub, frames } = fakeSub();
    stats.serve(sub);
    stats.stop();
    tick();
    assert.equal(frames.filter((f) => f.msg === 'changed').length, 0);
  });
});
