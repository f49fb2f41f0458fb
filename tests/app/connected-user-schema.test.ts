// Unit tests of validateConnectedUser (the record check before every write and on every bridged record): limits, types, unknown and prototype keys.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RECORD_LIMITS, validateConnectedUser } from '../../imports/app/connected-user-schema';

const GOOD = { _id: 's1', userId: 's1', connectedAt: new Date(0), instanceId: 'i1' };
const FULL = { ...GOOD, clientAddress: '::1', userAgent: 'Mozilla/5.0', accountId: 'alice', loggedInAt: new Date(1), idle: true, lastActivity: new Date(2) };
const valid = (doc: unknown) => () => validateConnectedUser(doc);

describe('validateConnectedUser', () => {
  test('the limits are those the schema and the README state', () => {
    assert.deepEqual(RECORD_LIMITS, { maxUserAgentLength: 512, maxClientAddressLength: 128, maxIdLength: 64 });
  });

  test('accepts a minimal and a full record', () => {
    assert.doesNotThrow(valid(GOOD));
    assert.doesNotThrow(valid(FULL));
    assert.doesNotThrow(valid({ ...FULL, idle: false }));
  });

  test('optional keys may be absent, undefined or null', () => {
    assert.doesNotThrow(valid({ ...GOOD, clientAddress: undefined, accountId: undefined }));
    assert.doesNotThrow(valid({ ...GOOD, userAgent: null, loggedInAt: null, idle: null }));
  });

  test('a non-object is refused with one plain message', () => {
    for (const doc of [null, undefined, [], [GOOD], 's1', 5, true]) {
      assert.throws(valid(doc), { message: 'A connection record must be an object' }, String(doc));
    }
  });

  test('each required key is required', () => {
    for (const key of ['_id', 'userId', 'connectedAt', 'instanceId'] as const) {
      const { [key]: _omitted, ...rest } = GOOD;
      assert.throws(valid(rest), { name: 'ClientError' }, key);
      assert.throws(valid({ ...GOOD, [key]: null }), { name: 'ClientError' }, `${key}: null`);
    }
  });

  test('ids are cut at 64 characters; user agent at 512; client address at 128', () => {
    for (const key of ['_id', 'userId', 'instanceId', 'accountId'] as const) {
      assert.doesNotThrow(valid({ ...GOOD, [key]: 'x'.repeat(64) }), key);
      assert.throws(valid({ ...GOOD, [key]: 'x'.repeat(65) }), /cannot exceed 64 characters/, key);
    }
    assert.doesNotThrow(valid({ ...GOOD, userAgent: 'u'.repeat(512) }));
    assert.throws(valid({ ...GOOD, userAgent: 'u'.repeat(513) }), { message: 'User agent cannot exceed 512 characters' });
    assert.doesNotThrow(valid({ ...GOOD, clientAddress: 'a'.repeat(128) }));
    assert.throws(valid({ ...GOOD, clientAddress: 'a'.repeat(129) }), { message: 'Client address cannot exceed 128 characters' });
    assert.throws(valid({ ...GOOD, userAgent: 'u'.repeat(1_000_000) }), { message: 'User agent cannot exceed 512 characters' });
  });

  test('types are exact: no string dates, numeric ids or string booleans', () => {
    assert.throws(valid({ ...GOOD, connectedAt: '2020-01-01T00:00:00Z' }), { message: 'Connected at must be of type Date' });
    assert.throws(valid({ ...GOOD, connectedAt: 0 }), { message: 'Connected at must be of type Date' });
    assert.throws(valid({ ...GOOD, connectedAt: new Date(Number.NaN) }), { message: 'Connected at is not a valid date' });
    assert.throws(valid({ ...GOOD, _id: 5 }), { message: 'ID must be of type String' });
    assert.throws(valid({ ...GOOD, idle: 'true' }), { message: 'Idle must be of type Boolean' });
    assert.throws(valid({ ...GOOD, accountId: { $ne: null } }), { name: 'ClientError' });
    assert.throws(valid({ ...GOOD, lastActivity: { $date: 0 } }), { name: 'ClientError' });
  });

  test('an unknown key is refused', () => {
    assert.throws(valid({ ...GOOD, admin: true }), { message: 'admin is not allowed by the schema' });
    assert.throws(valid({ ...GOOD, 'a.b': 'x' }), { name: 'ClientError' });
  });

  test('an own __proto__ key (as JSON.parse makes) is refused', () => {
    const parsed = JSON.parse('{"_id":"s1","userId":"s1","instanceId":"i1","__proto__":{"admin":true}}') as Record<string, unknown>;
    parsed.connectedAt = new Date(0);
    assert.throws(valid(parsed));
  });

  test('object values under prototype-named keys are refused', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty']) {
      assert.throws(valid({ ...GOOD, [key]: [1] }), key);
    }
  });

  test('primitive values under prototype-named keys are refused like any unknown key', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      for (const value of ['x'.repeat(100_000), 5, true, null, new Date(0)]) {
        assert.throws(valid({ ...GOOD, [key]: value }), `${key}: ${typeof value}`);
      }
    }
  });

  test('a Date or a typed array is not a record', () => {
    assert.throws(valid(new Date(0)));
    assert.throws(valid(new Uint8Array(3)));
  });

  test('a Map is refused, whatever it holds', () => {
    assert.throws(valid(new Map(Object.entries(GOOD))), { message: 'A connection record must be an object' });
  });

  test('prototype-less objects and class instances with the right own keys are records', () => {
    assert.doesNotThrow(valid(Object.assign(Object.create(null), GOOD)));
    class Record_ {
      _id = 's1';
      userId = 's1';
      connectedAt = new Date(0);
      instanceId = 'i1';
    }
    assert.doesNotThrow(valid(new Record_()));
  });
});
