import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { InstanceSummary } from '../../imports/app/fleet-summaries';
import type { HostPublishThis } from '../../imports/app/host';
import { COUNT_COLLECTION, COUNT_DOCUMENT_ID, type CountSource, LiveCount } from '../../imports/app/live-count';
import type { PresenceFields } from '../../imports/app/presence-view';
import type { Logger } from '../../imports/log/logger';

/**
 * LiveCount on mocked timers: one observer, one coalescing window
 * (`coalesceMs`), one `changed` per subscriber per window carrying the
 * latest count, and summaries of other instances when configured.
 */

type Callbacks = Parameters<CountSource['observe']>[0];

/** A view that can be driven by hand; like PresenceView, it reports current records before observe returns. */
function fakeSource(initial: Record<string, PresenceFields> = {}) {
  const records = new Map(Object.entries(initial));
  const observers: Callbacks[] = [];
  const source: CountSource = {
    observe(callbacks) {
      observers.push(callbacks);
      for (const [id, fields] of records) callbacks.added(id, fields);
      return { stop() {} };
    },
  };
  return {
    source,
    observers,
    add(id: string, fields: PresenceFields = { instanceId: 'a' }) {
      records.set(id, fields);
      for (const o of observers) o.added(id, fields);
    },
    remove(id: string) {
      const fields = records.get(id);
      assert.ok(fields, `no record ${id}`);
      records.delete(id);
      for (const o of observers) o.removed(id, fields);
    },
  };
}

function fakeSummaries(initial: InstanceSummary[] = []) {
  let current = initial;
  const listeners = new Set<() => void>();
  return {
    summaries: {
      current: () => current,
      onChange(listener: () => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    listeners,
    set(next: InstanceSummary[]) {
      current = next;
      for (const l of listeners) l();
    },
  };
}

function summary(instanceId: string, connections: number): InstanceSummary {
  return { instanceId, epoch: 1, connections, connects: connections, disconnects: 0 };
}

type Frame = ['added' | 'changed', string, string, Record<string, unknown>];

function fakeSub(options: { failChanged?: () => boolean } = {}) {
  const frames: Frame[] = [];
  const stops: (() => void)[] = [];
  let ready = 0;
  const sub: HostPublishThis = {
    connection: { id: 'session-1', clientAddress: null, httpHeaders: {}, onClose() {} },
    userId: null,
    added: (c, id, fields) => frames.push(['added', c, id, fields]),
    changed: (c, id, fields) => {
      if (options.failChanged?.()) throw new Error('socket gone');
      frames.push(['changed', c, id, fields]);
    },
    removed: () => assert.fail('the count document is never removed'),
    ready: () => ready++,
    error: () => assert.fail('unexpected error'),
    onStop: (callback) => stops.push(callback),
  };
  return {
    sub,
    frames,
    readyCalls: () => ready,
    /** The counts this subscriber was sent, in order. */
    counts: () => frames.map(([, , , fields]) => fields.count),
    stop: () => {
      for (const s of stops) s();
    },
  };
}

/** One coalesce period (50 ms) at a time: a timer armed while another fires is due in the next period. */
function ticks(periods: number): void {
  for (let i = 0; i < periods; i++) mock.timers.tick(50);
}

function recordingLogger() {
  const warnings: { message: string; context: Record<string, unknown> | undefined }[] = [];
  const log: Logger = {
    debug() {},
    info() {},
    warn: (message, context) => warnings.push({ message, context }),
    error: () => assert.fail('unexpected error log'),
  };
  return { log, warnings };
}

describe('LiveCount', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('counts the records the source reports at start, and a subscriber gets them as one added + ready', () => {
    const view = fakeSource({ s1: { instanceId: 'a' }, s2: { instanceId: 'b' } });
    const count = new LiveCount(50, recordingLogger().log);
    assert.equal(count.value, 0);
    count.start(view.source);
    assert.equal(count.value, 2);
    const s = fakeSub();
    count.serve(s.sub);
    assert.deepEqual(s.frames, [['added', COUNT_COLLECTION, COUNT_DOCUMENT_ID, { count: 2 }]]);
    assert.equal(s.readyCalls(), 1);
  });

  test('coalesces a burst into one changed per subscriber per window, carrying the latest count', () => {
    const view = fakeSource();
    const count = new LiveCount(50, recordingLogger().log);
    count.start(view.source);
    const subs = [fakeSub(), fakeSub(), fakeSub()];
    for (const s of subs) count.serve(s.sub);
    for (let i = 0; i < 10; i++) view.add(`s${i}`);
    view.remove('s0');
    assert.equal(count.value, 9, 'value is current at once');
    mock.timers.tick(49);
    for (const s of subs) assert.deepEqual(s.counts(), [0], 'nothing is pushed before the window ends');
    mock.timers.tick(1);
    for (const s of subs) {
      assert.deepEqual(s.frames.at(-1), ['changed', COUNT_COLLECTION, COUNT_DOCUMENT_ID, { count: 9 }]);
      assert.deepEqual(s.counts(), [0, 9]);
    }
  });

  test('the window opens at the first change, not at each one (a steady trickle still flushes every coalesceMs)', () => {
    const view = fakeSource();
    const count = new LiveCount(50, recordingLogger().log);
    count.start(view.source);
    const s = fakeSub();
    count.serve(s.sub);
    for (let t = 0; t < 150; t += 10) {
      view.add(`s${t}`);
      mock.timers.tick(10);
    }
    // Changes at 0..140; windows close at 50, 100 and 150.
    assert.deepEqual(s.counts(), [0, 5, 10, 15]);
  });

  test('a window whose changes cancel out sends nothing', () => {
    const view = fakeSource({ s1: { instanceId: 'a' } });
    const count = new LiveCount(50, recordingLogger().log);
    count.start(view.source);
    const s = fakeSub();
    count.serve(s.sub);
    view.add('s2');
    view.remove('s2');
    mock.timers.tick(50);
    assert.deepEqual(s.counts(), [1]);
  });

  for (const coalesceMs of [0, 1, 50, 250]) {
    test(`coalesceMs = ${coalesceMs}: the flush comes after exactly that long`, () => {
      const view = fakeSource();
      const count = new LiveCount(coalesceMs, recordingLogger().log);
      count.start(view.source);
      const s = fakeSub();
      count.serve(s.sub);
      view.add('s1');
      if (coalesceMs > 0) {
        mock.timers.tick(coalesceMs - 1);
        assert.deepEqual(s.counts(), [0]);
      }
      mock.timers.tick(1);
      assert.deepEqual(s.counts(), [0, 1]);
    });
  }

  test('with no subscribers no timer is armed; a later subscriber gets the current count in its added', () => {
    const view = fakeSource();
    const count = new LiveCount(50, recordingLogger().log);
    count.start(view.source);
    const timeouts = mock.method(globalThis, 'setTimeout');
    for (let i = 0; i < 5; i++) view.add(`s${i}`);
    assert.equal(timeouts.mock.callCount(), 0);
    timeouts.mock.restore();
    const s = fakeSub();
    count.serve(s.sub);
    mock.timers.tick(1000);
    assert.deepEqual(s.counts(), [5]);
  });

  test('a subscriber that joins during a window gets added with the current count and no duplicate changed', () => {
    const view = fakeSource();
    const count = new LiveCount(50, recordingLogger().log);
    count.start(view.source);
    const early = fakeSub();
    count.serve(early.sub);
    view.add('s1');
    mock.timers.tick(20);
    const late = fakeSub();
    count.serve(late.sub);
    mock.timers.tick(30);
    assert.deepEqual(early.counts(), [0, 1]);
    assert.deepEqual(late.counts(), [1]);
  });

  test('a stopped subscription gets no more changes; the others still do', () => {
    const view = fakeSource();
    const count = new LiveCount(50, recordingLogger().log);
    count.start(view.source);
    const kept = fakeSub();
    const stopped = fakeSub();
    count.serve(kept.sub);
    count.serve(stopped.sub);
    view.add('s1');
    stopped.stop(); // unsubscribed inside the window
    mock.timers.tick(50);
    view.add('s2');
    mock.timers.tick(50);
    assert.deepEqual(kept.counts(), [0, 1, 2]);
    assert.deepEqual(stopped.counts(), [0]);
  });

  test('after every subscriber stopped, changes arm no timer', () => {
    const view = fakeSource();
    const count = new LiveCount(50, recordingLogger().log);
    count.start(view.source);
    const s = fakeSub();
    count.serve(s.sub);
    s.stop();
    const timeouts = mock.method(globalThis, 'setTimeout');
    view.add('s1');
    assert.equal(timeouts.mock.callCount(), 0);
    timeouts.mock.restore();
    assert.equal(count.value, 1);
  });

  test('a subscriber whose changed throws is logged once and retried every coalesceMs until it succeeds; others are unaffected', () => {
    const view = fakeSource();
    const { log, warnings } = recordingLogger();
    const count = new LiveCount(50, log);
    count.start(view.source);
    let broken = true;
    const flaky = fakeSub({ failChanged: () => broken });
    const healthy = fakeSub();
    count.serve(flaky.sub);
    count.serve(healthy.sub);
    view.add('s1');
    mock.timers.tick(50);
    assert.deepEqual(healthy.counts(), [0, 1]);
    assert.deepEqual(flaky.counts(), [0]);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.context?.session, 'session-1');
    assert.ok(warnings[0]?.context?.error instanceof Error);
    ticks(3);
    assert.equal(warnings.length, 1, 'a failing stretch is logged once, not per retry');
    broken = false;
    mock.timers.tick(50);
    assert.deepEqual(flaky.counts(), [0, 1], 'retried without waiting for the next change');
    assert.deepEqual(healthy.counts(), [0, 1], 'the healthy subscriber is not sent the same count again');
    ticks(3);
    assert.deepEqual(flaky.counts(), [0, 1], 'no more retries once it succeeded');
    broken = true;
    view.add('s2');
    mock.timers.tick(50);
    assert.equal(warnings.length, 2, 'a new failing stretch is logged again');
  });

  test('retries stop when the failing subscription stops, and when the count stops', () => {
    const view = fakeSource();
    const count = new LiveCount(50, recordingLogger().log);
    count.start(view.source);
    const attempts = { n: 0 };
    const flaky = fakeSub({ failChanged: () => (attempts.n++, true) });
    count.serve(flaky.sub);
    view.add('s1');
    ticks(4);
    assert.equal(attempts.n, 4);
    flaky.stop();
    ticks(4);
    assert.equal(attempts.n, 4, 'a stopped subscription is not retried');

    const other = fakeSub({ failChanged: () => (attempts.n++, true) });
    count.serve(other.sub);
    view.add('s2');
    mock.timers.tick(50);
    assert.equal(attempts.n, 5);
    count.stop();
    ticks(4);
    assert.equal(attempts.n, 5, 'a stopped count retries nothing');
  });

  test('start() twice observes once', () => {
    const view = fakeSource({ s1: { instanceId: 'a' } });
    const count = new LiveCount(50, recordingLogger().log);
    count.start(view.source);
    count.start(view.source);
    assert.equal(view.observers.length, 1);
    assert.equal(count.value, 1);
  });

  describe('with fleet summaries', () => {
    test('counts this instance\u2019s own records plus the other instances\u2019 summaries, ignoring their records in the view', () => {
      const view = fakeSource({ own1: { instanceId: 'me' }, remote1: { instanceId: 'b' }, remote2: { instanceId: 'c' } });
      const fleet = fakeSummaries([summary('b', 10), summary('c', 5)]);
      const count = new LiveCount(50, recordingLogger().log);
      count.start(view.source, { ownInstanceId: 'me', summaries: fleet.summaries });
      assert.equal(count.value, 1 + 10 + 5);
      view.add('remote3', { instanceId: 'b' });
      view.remove('remote1');
      assert.equal(count.value, 16, 'other instances\u2019 records move nothing');
      view.add('own2', { instanceId: 'me' });
      assert.equal(count.value, 17);
      view.remove('own1');
      assert.equal(count.value, 16);
    });

    test('a summary change is pushed like any other change, within the same window', () => {
      const view = fakeSource({ own1: { instanceId: 'me' } });
      const fleet = fakeSummaries([summary('b', 10)]);
      const count = new LiveCount(50, recordingLogger().log);
      count.start(view.source, { ownInstanceId: 'me', summaries: fleet.summaries });
      const s = fakeSub();
      count.serve(s.sub);
      fleet.set([summary('b', 12)]);
      view.add('own2', { instanceId: 'me' });
      fleet.set([summary('b', 12), summary('c', 3)]);
      mock.timers.tick(50);
      assert.deepEqual(s.counts(), [11, 2 + 12 + 3]);
      fleet.set([summary('c', 3)]); // b went offline
      mock.timers.tick(50);
      assert.deepEqual(s.counts(), [11, 17, 5]);
    });

    test('no summaries yet: only the own records count', () => {
      const view = fakeSource({ own1: { instanceId: 'me' }, remote1: { instanceId: 'b' } });
      const fleet = fakeSummaries();
      const count = new LiveCount(50, recordingLogger().log);
      count.start(view.source, { ownInstanceId: 'me', summaries: fleet.summaries });
      assert.equal(count.value, 1);
      assert.equal(fleet.listeners.size, 1);
    });
  });
});

describe('LiveCount.stop (shutdown)', () => {
  test('stops following the view and the summaries, and drops a pending push', async (t) => {
    const { LiveCount } = await import('../../imports/app/live-count');
    const { captureLogger } = await import('../helpers/capture-logger');
    let observer: { added(id: string, fields: Record<string, unknown>): void } | null = null;
    let stopped = 0;
    let summaryListener: (() => void) | null = null;
    // The coalescing window is a timer of LiveCount's own: mock time, so "dropped" is checked past it, not after a guess.
    mock.timers.enable({ apis: ['setTimeout'] });
    t.after(() => mock.timers.reset());
    const count = new LiveCount(10, captureLogger().log);
    count.start(
      { observe: (callbacks) => ((observer = callbacks), { stop: () => void stopped++ }) },
      { ownInstanceId: 'A', summaries: { current: () => [], onChange: (listener) => ((summaryListener = listener), () => (summaryListener = null)) } },
    );
    const changes: unknown[] = [];
    count.serve({ connection: { id: 's' }, added: () => {}, changed: (_c: string, _id: string, fields: unknown) => changes.push(fields), removed: () => {}, ready: () => {}, error: () => {}, onStop: () => {}, userId: null } as never);
    observer!.added('r1', { instanceId: 'A' });
    count.stop();
    assert.equal(stopped, 1, 'the view observer stopped');
    assert.equal(summaryListener, null, 'the summaries listener removed');
    mock.timers.tick(1_000); // far past the 10 ms window: a push still scheduled would have gone out
    assert.deepEqual(changes, [], 'the pending push was dropped');
  });
});
