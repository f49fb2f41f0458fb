import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { Heartbeat, type HeartbeatTarget } from '../../imports/ddp/heartbeat';

/**
 * Heartbeat alone, on mocked timers (tests/ddp/heartbeat.test.ts drives it end
 * to end through a real socket). Meteor's timing: a tick every intervalMs; a
 * tick that saw no message and has no ping outstanding sends `ping` and arms
 * a timeoutMs timer, which any incoming message clears.
 */

type Event = `ping@${number}` | `timeout@${number}`;

/** Advance the mocked clock one ms at a time, so each event records when it fired. */
function advance(clock: { set(ms: number): void; get(): number }, ms: number): void {
  for (let i = 0; i < ms; i++) {
    clock.set(clock.get() + 1);
    mock.timers.tick(1);
  }
}

describe('Heartbeat (mocked timers)', () => {
  let events: Event[];
  let target: HeartbeatTarget;
  let time = 0;
  const clock = { set: (ms: number) => (time = ms), get: () => time };

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    time = 0;
    events = [];
    target = {
      sendPing: () => events.push(`ping@${time}`),
      onHeartbeatTimeout: () => events.push(`timeout@${time}`),
    };
  });
  afterEach(() => mock.timers.reset());

  test('pings after an interval of silence, then times out timeoutMs later', () => {
    const heartbeat = new Heartbeat(100, 30, target);
    heartbeat.start();
    advance(clock, 99);
    assert.deepEqual(events, []);
    advance(clock, 1);
    assert.deepEqual(events, ['ping@100']);
    advance(clock, 29);
    assert.deepEqual(events, ['ping@100']);
    advance(clock, 1);
    assert.deepEqual(events, ['ping@100', 'timeout@130']);
    heartbeat.stop();
  });

  test('any message clears an outstanding ping: no timeout, and the next silent interval pings again', () => {
    const heartbeat = new Heartbeat(100, 30, target);
    heartbeat.start();
    advance(clock, 110);
    heartbeat.messageReceived(); // the pong, or any other message
    advance(clock, 200);
    // The tick at 200 saw the message (no ping); the tick at 300 saw silence.
    assert.deepEqual(events, ['ping@100', 'ping@300']);
    heartbeat.stop();
  });

  test('a message during an interval postpones the ping by one tick (the tick only checks "seen since the last tick")', () => {
    const heartbeat = new Heartbeat(100, 30, target);
    heartbeat.start();
    advance(clock, 50);
    heartbeat.messageReceived();
    advance(clock, 150);
    assert.deepEqual(events, ['ping@200']);
    heartbeat.stop();
  });

  test('a client that keeps talking is never pinged', () => {
    const heartbeat = new Heartbeat(100, 30, target);
    heartbeat.start();
    for (let i = 0; i < 20; i++) {
      advance(clock, 60);
      heartbeat.messageReceived();
    }
    assert.deepEqual(events, []);
    heartbeat.stop();
  });

  test('while a ping is outstanding, later ticks send no second ping (timeout longer than the interval)', () => {
    const heartbeat = new Heartbeat(10, 25, target);
    heartbeat.start();
    advance(clock, 35);
    assert.deepEqual(events, ['ping@10', 'timeout@35']);
    heartbeat.stop();
  });

  test('the heartbeat does not stop itself on timeout: the target closes the session and stops it', () => {
    // Session.onHeartbeatTimeout closes the session, whose close() stops the heartbeat.
    const heartbeat = new Heartbeat(10, 5, target);
    heartbeat.start();
    advance(clock, 25);
    assert.deepEqual(events, ['ping@10', 'timeout@15', 'ping@20', 'timeout@25']);
    heartbeat.stop();
  });

  test('stop() clears the interval and an outstanding timeout', () => {
    const heartbeat = new Heartbeat(100, 30, target);
    heartbeat.start();
    advance(clock, 110); // ping sent, timeout armed
    heartbeat.stop();
    advance(clock, 1000);
    assert.deepEqual(events, ['ping@100']);
  });

  test('stop() before the first tick: nothing ever fires', () => {
    const heartbeat = new Heartbeat(100, 30, target);
    heartbeat.start();
    heartbeat.stop();
    advance(clock, 1000);
    assert.deepEqual(events, []);
  });

  test('start() twice keeps one interval, not two', () => {
    const heartbeat = new Heartbeat(100, 1000, target);
    heartbeat.start();
    advance(clock, 50);
    heartbeat.start(); // restarts the interval from now
    advance(clock, 149);
    assert.deepEqual(events, ['ping@150']);
    heartbeat.stop();
  });

  test('start() after stop() resumes pinging', () => {
    const heartbeat = new Heartbeat(100, 30, target);
    heartbeat.start();
    heartbeat.stop();
    heartbeat.start();
    advance(clock, 100);
    assert.deepEqual(events, ['ping@100']);
    heartbeat.stop();
  });

  for (const intervalMs of [0, -1]) {
    test(`intervalMs = ${intervalMs} disables it`, () => {
      const heartbeat = new Heartbeat(intervalMs, 30, target);
      heartbeat.start();
      advance(clock, 1000);
      assert.deepEqual(events, []);
      heartbeat.messageReceived(); // harmless while disabled
      heartbeat.stop();
    });
  }

  test('its timers do not keep the process alive (unref)', () => {
    // With mocked timers unref is a no-op; check on real timers that the
    // handles are unref'd without waiting for them.
    mock.timers.reset();
    const heartbeat = new Heartbeat(60_000, 60_000, target);
    const spy = mock.method(globalThis, 'setInterval');
    try {
      heartbeat.start();
      const handle = spy.mock.calls[0]?.result as NodeJS.Timeout | undefined;
      assert.ok(handle, 'setInterval was called');
      assert.equal(handle.hasRef(), false);
    } finally {
      heartbeat.stop();
      spy.mock.restore();
    }
  });
});
