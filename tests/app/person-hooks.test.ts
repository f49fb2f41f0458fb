// Unit tests of PersonHooks driven through its transition callback: the "who fires" rule as a table, registration, stop and failures, without OnlinePeople.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AccountHookInfo, PersonHooks, type PersonHookOptions } from '../../imports/app/person-hooks';
import type { PersonDocument } from '../../imports/app/wire-contract';
import { captureLogger, matching } from '../helpers/capture-logger';

const DOC: PersonDocument = { _id: 'alice', status: 'online', connections: 2, since: new Date(1000), lastActivity: new Date(2000) };
const CAUSE = { connectionId: 's1', instanceId: 'B' };

function setup(options: Partial<PersonHookOptions> = {}) {
  const capture = captureLogger();
  const hooks = new PersonHooks({ ownInstanceId: 'B', log: capture.log, ...options });
  const calls: Array<[string, string, AccountHookInfo]> = [];
  const fire = (kind: 'online' | 'offline' | 'idle' | 'active', owner: Iterable<string>, doc: PersonDocument = DOC) =>
    hooks.callbacks.transition!(kind, doc, CAUSE, new Set(owner));
  return { hooks, calls, fire, ...capture };
}

/** Whether own instance `B` fires, given who held the person and who is up. */
function fires(owner: string[], up: string[], ownInstanceId = 'B'): boolean {
  const { hooks, fire } = setup({
    ownInstanceId,
    isRemoteOnline: (id) => up.includes(id),
    onlineInstanceIds: () => up,
  });
  let fired = false;
  hooks.onAccountOnline(() => void (fired = true));
  fire('online', owner);
  return fired;
}

describe('PersonHooks: who fires', () => {
  const table: Array<[string, string[], string[], boolean]> = [
    ['alone, it held them', ['B'], [], true],
    ['a smaller instance that held them is up', ['A', 'B'], ['A'], false],
    ['a smaller instance that held them is gone', ['A', 'B'], [], true],
    ['a larger instance also held them', ['B', 'C'], ['C'], true],
    ['only another, larger, up instance held them', ['C'], ['C'], false],
    ['their only instance is gone; B is the smallest up', ['A'], ['C'], true],
    ['their only instance is gone; a smaller one is up', ['Z'], ['A', 'C'], false],
    ['nobody is recorded as holding them', [], [], true],
    ['nobody holds them; a smaller one is up', [], ['A'], false],
  ];
  for (const [name, owner, up, expected] of table) {
    test(`${name}: ${expected ? 'fires' : 'stays quiet'}`, () => {
      assert.equal(fires(owner, up), expected);
    });
  }

  test('ids compare as strings: "10" is smaller than "9"', () => {
    assert.equal(fires(['10', '9'], ['10'], '9'), false);
    assert.equal(fires(['10', '9'], ['10'], '10'), true);
  });

  test('its own id counts as up without asking isRemoteOnline', () => {
    const asked: string[] = [];
    const { hooks, fire } = setup({ isRemoteOnline: (id) => (asked.push(id), false) });
    let fired = 0;
    hooks.onAccountOffline(() => void fired++);
    fire('offline', ['B', 'C']);
    assert.equal(fired, 1);
    assert.deepEqual(asked, ['C']);
  });

  test('without isRemoteOnline (one instance) every holder counts as up', () => {
    const { hooks, fire } = setup();
    let fired = 0;
    hooks.onAccountIdle(() => void fired++);
    fire('idle', ['A', 'B']);
    assert.equal(fired, 0, 'A is smaller and assumed up');
    fire('idle', ['B']);
    assert.equal(fired, 1);
  });

  test('no hook registered for a kind: nothing is asked', () => {
    let asked = 0;
    const { hooks, fire } = setup({ isRemoteOnline: () => (asked++, true), onlineInstanceIds: () => (asked++, []) });
    hooks.onAccountOnline(() => {});
    fire('offline', ['A']);
    assert.equal(asked, 0);
  });
});

describe('PersonHooks: calls, registration, failures', () => {
  test('a hook gets the account id and the document without _id, plus the cause', () => {
    const { hooks, calls, fire } = setup();
    hooks.onAccountActive((id, info) => void calls.push(['active', id, info]));
    fire('active', ['B']);
    assert.deepEqual(calls, [['active', 'alice', { status: 'online', connections: 2, since: new Date(1000), lastActivity: new Date(2000), connectionId: 's1', instanceId: 'B' }]]);
    assert.equal(Object.hasOwn(calls[0]![2], '_id'), false);
  });

  test('each kind calls only its own hooks, in registration order', () => {
    const { hooks, fire } = setup();
    const order: string[] = [];
    hooks.onAccountOnline(() => void order.push('online 1'));
    hooks.onAccountOnline(() => void order.push('online 2'));
    hooks.onAccountOffline(() => void order.push('offline'));
    hooks.onAccountIdle(() => void order.push('idle'));
    hooks.onAccountActive(() => void order.push('active'));
    fire('online', ['B']);
    fire('idle', ['B']);
    fire('active', ['B']);
    fire('offline', ['B']);
    assert.deepEqual(order, ['online 1', 'online 2', 'idle', 'active', 'offline']);
  });

  test('stop() removes that hook only; stopping twice is harmless', () => {
    const { hooks, fire } = setup();
    const seen: string[] = [];
    const first = hooks.onAccountOnline(() => void seen.push('first'));
    hooks.onAccountOnline(() => void seen.push('second'));
    first.stop();
    first.stop();
    fire('online', ['B']);
    assert.deepEqual(seen, ['second']);
  });

  test('onFirstHook is called once, at the first registration of any kind', () => {
    let first = 0;
    const { hooks } = setup({ onFirstHook: () => void first++ });
    assert.equal(first, 0);
    const handle = hooks.onAccountIdle(() => {});
    assert.equal(first, 1);
    handle.stop();
    hooks.onAccountOnline(() => {});
    hooks.onAccountOffline(() => {});
    assert.equal(first, 1);
  });

  test('a hook that is not a function is refused by name, and does not count as the first', () => {
    let first = 0;
    const { hooks } = setup({ onFirstHook: () => void first++ });
    for (const bad of [undefined, null, 'fn', {}, 5]) {
      assert.throws(() => hooks.onAccountOffline(bad as never), { name: 'TypeError', message: 'The offline hook must be a function' });
    }
    assert.throws(() => hooks.onAccountIdle(null as never), { message: 'The idle hook must be a function' });
    assert.equal(first, 0);
  });

  test('a hook that throws is logged with its kind and account; the next still runs', () => {
    const { hooks, fire, logs } = setup();
    const seen: string[] = [];
    hooks.onAccountOnline(() => {
      throw new Error('sync boom');
    });
    hooks.onAccountOnline(() => void seen.push('ran'));
    assert.doesNotThrow(() => fire('online', ['B']));
    assert.deepEqual(seen, ['ran']);
    const [entry] = matching(logs, { level: 'error', message: 'Account hook failed', context: { hook: 'online', accountId: 'alice' } });
    assert.equal((entry?.context?.error as Error | undefined)?.message, 'sync boom');
  });

  test('a hook that rejects is logged once its promise settles', async () => {
    const { hooks, fire, logs } = setup();
    hooks.onAccountOffline(async () => {
      throw new Error('async boom');
    });
    fire('offline', ['B']);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(matching(logs, { level: 'error', message: 'Account hook failed', context: { hook: 'offline' } }).length, 1);
  });

  test('prototype-like account ids are passed through as plain strings', () => {
    const { hooks, calls, fire } = setup();
    hooks.onAccountOnline((id, info) => void calls.push(['online', id, info]));
    fire('online', ['B'], { ...DOC, _id: '__proto__' });
    fire('online', ['B'], { ...DOC, _id: 'constructor' });
    assert.deepEqual(calls.map(([, id]) => id), ['__proto__', 'constructor']);
  });
});
