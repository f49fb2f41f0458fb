import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { reportIdleness } from '../../client/idle-reporter';
import { PRESENCE_NAMES } from '../../imports/app/wire-contract';

class FakeDocument extends EventTarget {
  visibilityState: 'visible' | 'hidden' = 'visible';
  setVisibility(state: 'visible' | 'hidden'): void {
    this.visibilityState = state;
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

let doc: FakeDocument;
let calls: unknown[][];
let failing: boolean;
const call = async (method: string, ...args: unknown[]) => {
  calls.push([method, ...args]);
  if (failing) throw new Error('not connected');
};

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  doc = new FakeDocument();
  calls = [];
  failing = false;
});
afterEach(() => mock.timers.reset());

test('each change is sent as presence.setIdle', () => {
  const reporter = reportIdleness({ call, document: doc, idleAfterMs: 1000 });
  reporter.session('s1');
  assert.deepEqual(calls, [], 'active at start: nothing to say');
  mock.timers.tick(1000);
  doc.dispatchEvent(new Event('keydown'));
  assert.deepEqual(calls, [[PRESENCE_NAMES.setIdleMethod, true], [PRESENCE_NAMES.setIdleMethod, false]]);
  reporter.stop();
});

test('a new session while idle gets setIdle(true) again; the same session without a disconnect, or an active one, does not', async () => {
  const reporter = reportIdleness({ call, document: doc, idleAfterMs: 1000 });
  reporter.session('s1');
  failing = true;
  doc.setVisibility('hidden'); // sent while the connection is down: dropped without an unhandled rejection
  await Promise.resolve();
  failing = false;
  reporter.session(null);
  reporter.session('s2');
  reporter.session('s2');
  assert.equal(reporter.idle, true);
  assert.deepEqual(calls, [[PRESENCE_NAMES.setIdleMethod, true], [PRESENCE_NAMES.setIdleMethod, true]]);
  reporter.session(null);
  reporter.session('s2'); // a reconnect reported under the previous id (Meteor's client) is still a new session
  assert.equal(calls.length, 3);
  doc.setVisibility('visible');
  reporter.session('s3');
  assert.deepEqual(calls.at(-1), [PRESENCE_NAMES.setIdleMethod, false], 'active on a new session: nothing re-sent');
  assert.equal(calls.length, 4);
  reporter.stop();
});
