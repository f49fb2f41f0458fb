import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { LOGIN_EXPIRY_DEFAULTS, LoginExpiry } from '../../imports/accounts/login-expiry';
import type { ConnectionHandle } from '../../imports/ddp/connection-handle';
import { captureLogger, describeLogs, matching } from '../helpers/capture-logger';

const START = Date.UTC(2030, 0, 1);
const DAY = 24 * 3600 * 1000;

/** A connection whose onClose callbacks the test fires with `close()`. */
function fakeConnection(id: string): ConnectionHandle & { closeCallbacks: Array<() => void> } {
  const closeCallbacks: Array<() => void> = [];
  return {
    id,
    clientAddress: null,
    httpHeaders: {},
    closeCallbacks,
    close: () => {
      for (const cb of closeCallbacks.splice(0)) cb();
    },
    onClose: (cb) => void closeCallbacks.push(cb),
  };
}

describe('login expiry (login-expiry.ts)', () => {
  let expired: string[];
  let expiry: LoginExpiry;
  const at = (ms: number) => new Date(START + ms);

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
    expired = [];
    expiry = new LoginExpiry(async (connection) => void expired.push(connection.id), captureLogger().log);
  });
  afterEach(() => {
    expiry.stop();
    mock.timers.reset();
  });

  test('the session is logged out at expiresAt, not before', () => {
    const c = fakeConnection('c1');
    expiry.loggedIn(c, 'alice', at(2000));
    mock.timers.tick(1999);
    assert.deepEqual(expired, []);
    mock.timers.tick(1);
    assert.deepEqual(expired, ['c1']);
    mock.timers.tick(10 * DAY);
    assert.deepEqual(expired, ['c1'], 'once');
  });

  test('an expiry further out than setTimeout\'s 2^31-1 ms waits in legs (Node would fire a longer delay at once)', () => {
    assert.equal(LOGIN_EXPIRY_DEFAULTS.maxTimerDelayMs, 2 ** 31 - 1);
    const c = fakeConnection('c1');
    expiry.loggedIn(c, 'alice', at(60 * DAY));
    mock.timers.tick(1);
    assert.deepEqual(expired, []);
    mock.timers.tick(60 * DAY - 2);
    assert.deepEqual(expired, []);
    mock.timers.tick(1);
    assert.deepEqual(expired, ['c1']);
  });

  test('logout cancels the expiry', () => {
    const c = fakeConnection('c1');
    expiry.loggedIn(c, 'alice', at(1000));
    expiry.loggedOut(c);
    mock.timers.tick(2000);
    assert.deepEqual(expired, []);
  });

  test('a new login replaces the expiry: a later one, or none at all', () => {
    const c = fakeConnection('c1');
    expiry.loggedIn(c, 'alice', at(1000));
    expiry.loggedIn(c, 'alice', at(5000));
    mock.timers.tick(4999);
    assert.deepEqual(expired, []);
    mock.timers.tick(1);
    assert.deepEqual(expired, ['c1']);

    const d = fakeConnection('c2');
    expiry.loggedIn(d, 'bob', at(6000));
    expiry.loggedIn(d, 'bob');
    mock.timers.tick(DAY);
    assert.deepEqual(expired, ['c1']);
  });

  test('a userId change to anyone else (an app method\'s setUserId) disarms it; the same user does not', () => {
    const c = fakeConnection('c1');
    expiry.loggedIn(c, 'alice', at(1000));
    expiry.userIdChanged(c, 'alice');
    expiry.userIdChanged(fakeConnection('other'), 'carol');
    mock.timers.tick(1000);
    assert.deepEqual(expired, ['c1']);

    const d = fakeConnection('c2');
    expiry.loggedIn(d, 'bob', at(3000));
    expiry.userIdChanged(d, 'carol');
    mock.timers.tick(DAY);
    assert.deepEqual(expired, ['c1']);
  });

  test('anonymous connections cost nothing; one that logged in holds one entry and one onClose, however often it logs in', () => {
    const anonymous = fakeConnection('anon');
    expiry.attemptStarted(anonymous)();
    expiry.loggedOut(anonymous);
    expiry.userIdChanged(anonymous, null);
    expiry.loggedIn(anonymous, 'forever'); // a login that never expires needs nothing either
    assert.equal(expiry.trackedConnections, 0);
    assert.deepEqual(anonymous.closeCallbacks, []);

    const c = fakeConnection('c1');
    for (let i = 1; i <= 5; i++) {
      expiry.loggedIn(c, 'alice', at(i * 1000));
      expiry.loggedOut(c);
    }
    expiry.loggedIn(c, 'alice', at(10_000));
    assert.equal(expiry.trackedConnections, 1);
    assert.equal(c.closeCallbacks.length, 1);
  });

  test('closing the connection clears its timer and its entry', () => {
    const c = fakeConnection('c1');
    expiry.loggedIn(c, 'alice', at(1000));
    c.close();
    assert.equal(expiry.trackedConnections, 0);
    mock.timers.tick(2000);
    assert.deepEqual(expired, []);
  });

  test('stop() clears every timer', () => {
    expiry.loggedIn(fakeConnection('c1'), 'alice', at(1000));
    expiry.loggedIn(fakeConnection('c2'), 'bob', at(2000));
    expiry.stop();
    assert.equal(expiry.trackedConnections, 0);
    mock.timers.tick(3000);
    assert.deepEqual(expired, []);
  });

  describe('a login attempt running when the login expires', () => {
    test('it settles the expiry: a failed attempt must log the session out itself', () => {
      const c = fakeConnection('c1');
      expiry.loggedIn(c, 'alice', at(1000));
      const end = expiry.attemptStarted(c);
      mock.timers.tick(1000);
      assert.deepEqual(expired, [], 'not queued behind the attempt, where it would log out a fresh login');
      assert.equal(end(), true);
      assert.equal(end(), false, 'once');
      mock.timers.tick(DAY);
      assert.deepEqual(expired, []);
    });

    test('a successful attempt replaced it: nothing to do', () => {
      const c = fakeConnection('c1');
      expiry.loggedIn(c, 'alice', at(1000));
      const end = expiry.attemptStarted(c);
      mock.timers.tick(1000);
      expiry.loggedIn(c, 'alice', at(5000));
      assert.equal(end(), false);
      mock.timers.tick(4000);
      assert.deepEqual(expired, ['c1'], 'the new login expires on its own');
    });

    test('an attempt that ended before the time leaves the timer to do it', () => {
      const c = fakeConnection('c1');
      expiry.loggedIn(c, 'alice', at(1000));
      assert.equal(expiry.attemptStarted(c)(), false);
      mock.timers.tick(1000);
      assert.deepEqual(expired, ['c1']);
    });
  });

  test('a failing expireSession is logged, not thrown', async () => {
    const { log, logs } = captureLogger();
    const failing = new LoginExpiry(() => Promise.reject(new Error('boom')), log);
    failing.loggedIn(fakeConnection('c1'), 'alice', at(10));
    mock.timers.tick(10);
    await new Promise((resolve) => setImmediate(resolve));
    const failures = matching(logs, { level: 'error', message: 'Could not log out an expired login', context: { session: 'c1' } });
    assert.deepEqual(failures.map((entry) => (entry.context?.error as Error | undefined)?.message), ['boom'], describeLogs(logs));
    failing.stop();
  });

  test('maxTimerDelayMs is validated', () => {
    const { log } = captureLogger();
    assert.throws(() => new LoginExpiry(async () => {}, log, { maxTimerDelayMs: 0 }), /maxTimerDelayMs/);
    assert.throws(() => new LoginExpiry(async () => {}, log, { maxTimerDelayMs: 2 ** 31 }), /maxTimerDelayMs/);
  });
});
