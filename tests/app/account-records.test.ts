// Unit tests of AccountRecords' exact modifiers, its wait for the insert, id checks and write failures, against a fake collection and a mocked clock.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { AccountRecords } from '../../imports/app/account-records';
import type { PresenceCollection } from '../../imports/app/host';
import { captureLogger, matching } from '../helpers/capture-logger';

const NOW = Date.parse('2024-05-01T12:00:00.000Z');
type Modifier = Parameters<PresenceCollection['updateAsync']>[1];

function setup(options: { settledInsert?: (sessionId: string) => Promise<unknown>; fail?: 'throw' | 'reject' } = {}) {
  const updates: Array<[{ _id: string }, Modifier]> = [];
  const settledFor: string[] = [];
  const collection = {
    updateAsync(selector: { _id: string }, modifier: Modifier) {
      if (options.fail === 'throw') throw new Error('store down');
      updates.push([selector, modifier]);
      return options.fail === 'reject' ? Promise.reject(new Error('write refused')) : Promise.resolve(1);
    },
  } as unknown as PresenceCollection;
  const { log, logs } = captureLogger();
  const settledInsert = (sessionId: string) => (settledFor.push(sessionId), options.settledInsert?.(sessionId) ?? Promise.resolve());
  return { records: new AccountRecords(collection, settledInsert, log), updates, settledFor, logs };
}

describe('AccountRecords', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: NOW }));
  afterEach(() => mock.timers.reset());

  test('login sets accountId, loggedInAt and lastActivity to now, on that record only', async () => {
    const { records, updates, settledFor } = setup();
    await records.login('s1', 'alice');
    assert.deepEqual(updates, [[{ _id: 's1' }, { $set: { accountId: 'alice', loggedInAt: new Date(NOW), lastActivity: new Date(NOW) } }]]);
    assert.deepEqual(settledFor, ['s1']);
  });

  test('logout unsets accountId and loggedInAt, and nothing else', async () => {
    const { records, updates } = setup();
    await records.logout('s1');
    assert.deepEqual(updates, [[{ _id: 's1' }, { $unset: { accountId: '', loggedInAt: '' } }]]);
  });

  test('an account id of 1 and of 64 characters is recorded', async () => {
    const { records, updates, logs } = setup();
    await records.login('s1', 'a');
    await records.login('s1', 'x'.repeat(64));
    assert.deepEqual(updates.map(([, m]) => m.$set?.accountId), ['a', 'x'.repeat(64)]);
    assert.equal(logs.length, 0);
  });

  test('an id that is not a string of 1 to 64 characters is not recorded: one warning, and the record is logged out', async () => {
    for (const bad of ['', 'x'.repeat(65), 'x'.repeat(1_000_000), 5, null, undefined, { $ne: null }, ['alice']]) {
      const { records, updates, logs } = setup();
      await records.login('s1', bad as never);
      assert.deepEqual(updates, [[{ _id: 's1' }, { $unset: { accountId: '', loggedInAt: '' } }]], JSON.stringify(bad)?.slice(0, 20));
      assert.equal(matching(logs, { level: 'warn', message: 'Account id not recorded: not a string of 1 to 64 characters', context: { session: 's1' } }).length, 1);
      assert.equal(JSON.stringify(logs).includes('xxxxxxxx'), false, 'the bad id itself is not logged');
    }
  });

  test('prototype-like and operator-like ids are ordinary strings', async () => {
    const { records, updates } = setup();
    for (const id of ['__proto__', 'constructor', '$where', 'a.b']) await records.login('s1', id);
    assert.deepEqual(updates.map(([, m]) => m.$set?.accountId), ['__proto__', 'constructor', '$where', 'a.b']);
  });

  test('setIdle writes only a change: idle sets idle and lastActivity; active sets lastActivity and unsets idle', async () => {
    const { records, updates, settledFor } = setup();
    await records.setIdle('s1', true, true);
    await records.setIdle('s1', false, false);
    assert.deepEqual(updates, []);
    assert.deepEqual(settledFor, [], 'a repeat does not even wait for the insert');
    await records.setIdle('s1', true, false);
    mock.timers.setTime(NOW + 5000);
    await records.setIdle('s1', false, true);
    assert.deepEqual(updates, [
      [{ _id: 's1' }, { $set: { idle: true, lastActivity: new Date(NOW) } }],
      [{ _id: 's1' }, { $set: { lastActivity: new Date(NOW + 5000) }, $unset: { idle: '' } }],
    ]);
  });

  test('no update is written before the record insert has settled', async () => {
    let land!: () => void;
    const inserted = new Promise<void>((resolve) => (land = resolve));
    const { records, updates } = setup({ settledInsert: () => inserted });
    const login = records.login('s1', 'alice');
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(updates.length, 0, 'still waiting for the insert');
    land();
    await login;
    assert.equal(updates.length, 1);
  });

  test('the wait is per session', async () => {
    const { records, updates } = setup({ settledInsert: (id) => (id === 'slow' ? new Promise(() => {}) : Promise.resolve()) });
    void records.login('slow', 'a');
    await records.login('fast', 'b');
    assert.deepEqual(updates.map(([selector]) => selector._id), ['fast']);
  });

  test('a write that throws or rejects is logged with the session, never thrown', async () => {
    for (const fail of ['throw', 'reject'] as const) {
      const { records, logs } = setup({ fail });
      await assert.doesNotReject(records.login('s1', 'alice'));
      await assert.doesNotReject(records.logout('s1'));
      await assert.doesNotReject(records.setIdle('s1', true, false));
      const errors = matching(logs, { level: 'error', message: 'Could not update connection record', context: { session: 's1' } });
      assert.equal(errors.length, 3, fail);
    }
  });
});
