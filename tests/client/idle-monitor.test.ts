import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { ACTIVITY_EVENTS, IDLE_MONITOR_DEFAULTS, startIdleMonitor, type IdleMonitorOptions } from '../../client/idle-monitor';

/** A document as the monitor sees it: an EventTarget whose visibility the test flips. */
class FakeDocument extends EventTarget {
  visibilityState: 'visible' | 'hidden' = 'visible';
  setVisibility(state: 'visible' | 'hidden'): void {
    this.visibilityState = state;
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

const IDLE_AFTER = 10_000;
let doc: FakeDocument;
let reports: boolean[];
const input = (type: string = 'mousemove', target: EventTarget = doc) => target.dispatchEvent(new Event(type));
const start = (options: Partial<IdleMonitorOptions> = {}) =>
  startIdleMonitor({ idleAfterMs: IDLE_AFTER, document: doc, report: (idle) => reports.push(idle), ...options });

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  doc = new FakeDocument();
  reports = [];
});
afterEach(() => mock.timers.reset());

test('starts active without reporting, and reports idle once, idleAfterMs after the last input', () => {
  start();
  assert.deepEqual(reports, []);
  mock.timers.tick(IDLE_AFTER - 1);
  assert.deepEqual(reports, []);
  mock.timers.tick(1);
  assert.deepEqual(reports, [true]);
  mock.timers.tick(IDLE_AFTER * 5);
  assert.deepEqual(reports, [true], 'the same state is never reported twice');
});

test('input pushes idleness back; after idle, input reports active once, then idle again after a quiet spell', () => {
  start();
  mock.timers.tick(6_000);
  input();
  mock.timers.tick(6_000);
  assert.deepEqual(reports, [], 'only 6 s since the last input');
  mock.timers.tick(4_000);
  assert.deepEqual(reports, [true]);
  input('keydown');
  input('wheel');
  input('pointerdown');
  assert.deepEqual(reports, [true, false]);
  mock.timers.tick(IDLE_AFTER);
  assert.deepEqual(reports, [true, false, true]);
});

test('every kind of input counts, on the chosen target', () => {
  const target = new EventTarget();
  start({ target });
  for (const type of ACTIVITY_EVENTS) {
    mock.timers.tick(IDLE_AFTER);
    input(type, target);
  }
  assert.deepEqual(reports, ACTIVITY_EVENTS.flatMap(() => [true, false]));
  input('mousemove', doc);
  mock.timers.tick(IDLE_AFTER);
  assert.deepEqual(reports.at(-1), true, 'input on the document is not the target: ignored');
});

test('a hidden tab is idle at once, input while hidden changes nothing, and showing the tab is activity', () => {
  start();
  mock.timers.tick(1_000);
  doc.setVisibility('hidden');
  assert.deepEqual(reports, [true]);
  input();
  mock.timers.tick(IDLE_AFTER * 3);
  assert.deepEqual(reports, [true], 'still idle, no repeat');
  doc.setVisibility('visible');
  assert.deepEqual(reports, [true, false]);
  mock.timers.tick(IDLE_AFTER);
  assert.deepEqual(reports, [true, false, true], 'idle again after a quiet spell once visible');
});

test('hidden before idleAfterMs, shown again: idle and active each reported once; no stale timer fires early', () => {
  start();
  mock.timers.tick(9_000);
  doc.setVisibility('hidden');
  doc.setVisibility('visible');
  assert.deepEqual(reports, [true, false]);
  mock.timers.tick(IDLE_AFTER - 1);
  assert.deepEqual(reports, [true, false], 'the full delay counts from the tab being shown');
  mock.timers.tick(1);
  assert.deepEqual(reports, [true, false, true]);
});

test('a tab that starts hidden is reported idle at once', () => {
  doc.visibilityState = 'hidden';
  start();
  assert.deepEqual(reports, [true]);
  doc.setVisibility('visible');
  assert.deepEqual(reports, [true, false]);
});

test('cheap: a burst of mousemoves sets no timer of its own; one timer re-arms for the time left', () => {
  let armed = 0;
  let cleared = 0;
  start({
    timers: {
      setTimeout: (callback, ms) => (armed++, setTimeout(callback, ms)),
      clearTimeout: (handle) => (cleared++, clearTimeout(handle as ReturnType<typeof setTimeout>)),
    },
  });
  assert.equal(armed, 1);
  for (let i = 0; i < 1000; i++) {
    mock.timers.tick(5);
    input('mousemove');
  }
  assert.equal(armed, 1, 'no timer per event');
  assert.equal(cleared, 0);
  mock.timers.tick(IDLE_AFTER - 5_000); // t = 10 s: the first check, 5 s after the last input
  assert.deepEqual(reports, [], 'the first check re-armed for the time left');
  assert.equal(armed, 2);
  mock.timers.tick(5_000);
  assert.deepEqual(reports, [true]);
});

test('stop removes the listeners and the timer: nothing is reported after it', () => {
  const monitor = start();
  mock.timers.tick(IDLE_AFTER);
  monitor.stop();
  input();
  doc.setVisibility('hidden');
  doc.setVisibility('visible');
  mock.timers.tick(IDLE_AFTER * 2);
  assert.deepEqual(reports, [true]);
});

test('the default is 60 s, as konecty:user-presence', () => {
  assert.equal(IDLE_MONITOR_DEFAULTS.idleAfterMs, 60_000);
  startIdleMonitor({ document: doc, report: (idle) => reports.push(idle) });
  mock.timers.tick(59_999);
  assert.deepEqual(reports, []);
  mock.timers.tick(1);
  assert.deepEqual(reports, [true]);
});
