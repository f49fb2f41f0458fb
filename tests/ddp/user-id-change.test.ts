// Unit tests of checkUserId and the rerunForUserId step order (begin, notify, run, wait, yield, end) against a fake host, with every failure path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MergeBox } from '../../imports/ddp/merge-box';
import type { Subscription } from '../../imports/ddp/subscription';
import { checkUserId, rerunForUserId, type UserIdChangeHost } from '../../imports/ddp/user-id-change';

const VIEW = { view: true } as unknown as MergeBox;

interface FakeSub {
  name: string;
  inactive?: boolean;
  run?: () => Promise<void>;
  readyOrStopped?: (timeoutMs: number) => Promise<void>;
}

function setup(options: { closed?: boolean; subs?: FakeSub[]; begin?: () => void; notify?: () => Promise<void>; timeoutMs?: number } = {}) {
  const steps: string[] = [];
  const errors: unknown[] = [];
  const ended: Array<MergeBox | null> = [];
  const rerun = (options.subs ?? []).map(
    (sub) =>
      ({
        get inactive() {
          return sub.inactive ?? false;
        },
        run: async () => {
          steps.push(`run ${sub.name}`);
          await sub.run?.();
        },
        readyOrStopped: async (timeoutMs: number) => {
          steps.push(`wait ${sub.name} ${timeoutMs}`);
          await sub.readyOrStopped?.(timeoutMs);
        },
      }) as unknown as Subscription,
  );
  const host: UserIdChangeHost = {
    isClosed: options.closed ?? false,
    rerunReadyTimeoutMs: options.timeoutMs ?? 5000,
    beginRerun(userId) {
      steps.push(`begin ${userId}`);
      options.begin?.();
      return { clientView: VIEW, rerun };
    },
    async notifyUserIdChange(userId, previous) {
      steps.push(`notify ${previous} -> ${userId}`);
      await options.notify?.();
    },
    endRerun(clientView) {
      steps.push('end');
      ended.push(clientView);
    },
    logRerunError(error) {
      steps.push('error');
      errors.push(error);
    },
  };
  return { host, steps, errors, ended };
}

describe('checkUserId: Meteor _setUserId check', () => {
  test('a string (even empty) or null passes', () => {
    for (const id of ['alice', '', '__proto__', null]) assert.doesNotThrow(() => checkUserId(id));
  });

  test('anything else throws with Meteor message', () => {
    const cases: Array<[unknown, string]> = [
      [undefined, 'undefined'],
      [5, 'number'],
      [true, 'boolean'],
      [{}, 'object'],
      [['a'], 'object'],
      [10n, 'bigint'],
      [Symbol('s'), 'symbol'],
      [() => 'a', 'function'],
      [new String('a'), 'object'],
    ];
    for (const [value, type] of cases) {
      assert.throws(() => checkUserId(value), { message: `setUserId must be called on string or null, not ${type}` }, type);
    }
  });
});

describe('rerunForUserId', () => {
  test('a closed session: nothing is done', async () => {
    const { host, steps } = setup({ closed: true, subs: [{ name: 'a' }] });
    await rerunForUserId(host, 'u1', null);
    assert.deepEqual(steps, []);
  });

  test('a real change: begin, notify, run and wait each sub with the timeout, then end with the client view', async () => {
    const { host, steps, ended, errors } = setup({ subs: [{ name: 'a' }, { name: 'b' }], timeoutMs: 1234 });
    await rerunForUserId(host, 'u1', null);
    assert.deepEqual(steps, ['begin u1', 'notify null -> u1', 'run a', 'run b', 'wait a 1234', 'wait b 1234', 'end']);
    assert.deepEqual(ended, [VIEW]);
    assert.deepEqual(errors, []);
  });

  test('the same id: no notification, but the subscriptions still rerun (as Meteor)', async () => {
    const { host, steps } = setup({ subs: [{ name: 'a' }] });
    await rerunForUserId(host, 'u1', 'u1');
    assert.deepEqual(steps, ['begin u1', 'run a', 'wait a 5000', 'end']);
  });

  test('logout (null) after a user is a change', async () => {
    const { host, steps } = setup();
    await rerunForUserId(host, null, 'u1');
    assert.deepEqual(steps, ['begin null', 'notify u1 -> null', 'end']);
  });

  test('a subscription stopped meanwhile is not run', async () => {
    const { host, steps } = setup({ subs: [{ name: 'a', inactive: true }, { name: 'b' }] });
    await rerunForUserId(host, 'u1', null);
    assert.deepEqual(steps, ['begin u1', 'notify null -> u1', 'run b', 'wait b 5000', 'end']);
  });

  test('handlers run together: a slow one does not hold back the start of the next', async () => {
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const { host, steps } = setup({ subs: [{ name: 'slow', run: () => slow }, { name: 'fast' }] });
    const done = rerunForUserId(host, 'u1', null);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(steps, ['begin u1', 'notify null -> u1', 'run slow', 'run fast', 'wait fast 5000']);
    release();
    await done;
    assert.deepEqual(steps.slice(-2), ['wait slow 5000', 'end']);
  });

  test('with subscriptions, end waits one event-loop turn; without, it does not', async () => {
    for (const withSubs of [true, false]) {
      const marks: string[] = [];
      const { host } = setup({
        subs: withSubs ? [{ name: 'a', readyOrStopped: async () => void setImmediate(() => marks.push('other session')) }] : [],
        notify: async () => {
          if (!withSubs) setImmediate(() => marks.push('other session'));
        },
      });
      host.endRerun = () => void marks.push('end');
      await rerunForUserId(host, 'u1', null);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(marks, withSubs ? ['other session', 'end'] : ['end', 'other session'], `withSubs=${withSubs}`);
    }
  });

  test('beginRerun throwing: logged, and end is not called (nothing was begun)', async () => {
    const { host, steps, errors } = setup({ begin: () => { throw new Error('begin failed'); } });
    await assert.doesNotReject(rerunForUserId(host, 'u1', null));
    assert.deepEqual(steps, ['begin u1', 'error']);
    assert.equal((errors[0] as Error).message, 'begin failed');
  });

  test('a callback rejecting: logged, no handler runs, and the session still ends the rerun', async () => {
    const { host, steps, ended } = setup({ subs: [{ name: 'a' }], notify: () => Promise.reject(new Error('callback failed')) });
    await assert.doesNotReject(rerunForUserId(host, 'u1', null));
    assert.deepEqual(steps, ['begin u1', 'notify null -> u1', 'error', 'end']);
    assert.deepEqual(ended, [VIEW]);
  });

  test('a handler rejecting: logged once, and end still comes', async () => {
    const { host, steps, errors } = setup({ subs: [{ name: 'a', run: () => Promise.reject(new Error('handler failed')) }, { name: 'b' }] });
    await assert.doesNotReject(rerunForUserId(host, 'u1', null));
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error).message, 'handler failed');
    assert.equal(steps.at(-1), 'end');
    assert.equal(steps.filter((s) => s === 'end').length, 1);
  });
});
