// Unit tests of the broker status/digest payload parsers at their edges (bounds, types, hostile keys), beyond the happy paths in topics and remote-summaries.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDigest, parseStatus } from '../../imports/mqtt/status-message';

const payload = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const HASH = '0123456789abcdef';
const DIGEST = { epoch: 1_700_000_000_000, seq: 3, count: 2, hash: HASH };

describe('parseStatus', () => {
  test('returns a full status with every optional key', () => {
    const full = { state: 'online', epoch: 1_700_000_000_000, startedAt: '2023-11-14T22:13:20.000Z', draining: true };
    assert.deepEqual(parseStatus(payload(full)), full);
    assert.deepEqual(parseStatus(payload({ state: 'offline', epoch: 0, reason: 'will' })), { state: 'offline', epoch: 0, reason: 'will' });
    assert.deepEqual(parseStatus(payload({ state: 'offline', epoch: 7, reason: 'shutdown' })), { state: 'offline', epoch: 7, reason: 'shutdown' });
  });

  test('a payload that is not JSON throws a SyntaxError', () => {
    for (const bytes of [Buffer.alloc(0), Buffer.from('{'), Buffer.from([0x7b, 0xff, 0x7d]), Buffer.from('\ufeff{"state":"online","epoch":1}')]) {
      assert.throws(() => parseStatus(bytes), SyntaxError, bytes.toString('hex'));
    }
  });

  test('JSON that is not an object throws "status must be a JSON object"', () => {
    for (const raw of ['null', '[]', '[{"state":"online","epoch":1}]', '5', '"online"', 'true']) {
      assert.throws(() => parseStatus(payload(raw)), { message: 'status must be a JSON object' }, raw);
    }
  });

  test('state must be exactly "online" or "offline"', () => {
    for (const state of ['ONLINE', 'Online', 'maybe', '', ['online'], 1, null, true]) {
      assert.throws(() => parseStatus(payload({ state, epoch: 1 })), { name: 'ClientError' }, JSON.stringify(state));
    }
    assert.throws(() => parseStatus(payload({ epoch: 1 })), { message: 'State is required' });
  });

  test('epoch must be a non-negative integer; a string is not converted', () => {
    for (const epoch of [-1, 1.5, '5', [1], {}, true, null]) {
      assert.throws(() => parseStatus(payload({ state: 'online', epoch })), { name: 'ClientError' }, JSON.stringify(epoch));
    }
    assert.throws(() => parseStatus(payload({ state: 'online' })), { message: 'Epoch is required' });
    assert.deepEqual(parseStatus(payload('{"state":"online","epoch":1.0}')), { state: 'online', epoch: 1 }, '1.0 is the integer 1 in JSON');
    assert.deepEqual(parseStatus(payload({ state: 'online', epoch: Number.MAX_SAFE_INTEGER })), { state: 'online', epoch: Number.MAX_SAFE_INTEGER });
  });

  test('startedAt is a string of at most 64 characters', () => {
    const at = (startedAt: unknown) => () => parseStatus(payload({ state: 'online', epoch: 1, startedAt }));
    assert.equal(at('x'.repeat(64))().startedAt, 'x'.repeat(64));
    assert.equal(at('')().startedAt, '');
    assert.throws(at('x'.repeat(65)), { message: 'Started at cannot exceed 64 characters' });
    assert.throws(at('x'.repeat(1_000_000)), { message: 'Started at cannot exceed 64 characters' });
    assert.throws(at(1_700_000_000_000), { message: 'Started at must be of type String' });
  });

  test('reason is "will" or "shutdown"; draining is a boolean', () => {
    assert.throws(() => parseStatus(payload({ state: 'offline', epoch: 1, reason: 'crash' })), { message: 'crash is not an allowed value' });
    assert.throws(() => parseStatus(payload({ state: 'online', epoch: 1, draining: 'true' })), { message: 'Draining must be of type Boolean' });
    assert.throws(() => parseStatus(payload({ state: 'online', epoch: 1, draining: 1 })), { message: 'Draining must be of type Boolean' });
    assert.deepEqual(parseStatus(payload({ state: 'online', epoch: 1, draining: false })), { state: 'online', epoch: 1, draining: false });
  });

  test('errors carry simpl-schema details naming the key', () => {
    assert.throws(() => parseStatus(payload({ state: 'x', epoch: 1 })), (error: { error?: unknown; details?: Array<{ name: string; type: string }> }) => {
      assert.equal(error.error, 'validation-error');
      assert.deepEqual(error.details?.map((d) => [d.name, d.type]), [['state', 'notAllowed']]);
      return true;
    });
  });

  test('unknown keys are dropped, including prototype keys, and the result is a plain object', () => {
    const raw = '{"state":"online","epoch":1,"region":"eu","__proto__":{"draining":true},"constructor":1,"hasOwnProperty":2,"toString":3}';
    const status = parseStatus(payload(raw));
    assert.deepEqual(status, { state: 'online', epoch: 1 });
    assert.deepEqual(Object.keys(status), ['state', 'epoch']);
    assert.equal(Object.getPrototypeOf(status), Object.prototype);
    assert.equal(status.draining, undefined, 'a __proto__ key cannot smuggle in draining');
    assert.equal(({} as { draining?: unknown }).draining, undefined);
  });

  test('required keys under __proto__ do not count', () => {
    assert.throws(() => parseStatus(payload('{"__proto__":{"state":"online","epoch":1}}')), { message: 'State is required' });
  });

  test('optional keys sent as null come back absent, as InstanceStatus types them', () => {
    const status = parseStatus(payload({ state: 'online', epoch: 1, startedAt: null, reason: null, draining: null }));
    assert.deepEqual(status, { state: 'online', epoch: 1 });
  });
});

describe('parseDigest', () => {
  test('returns a digest with its optional summary counts', () => {
    const full = { ...DIGEST, connects: 4, disconnects: 0 };
    assert.deepEqual(parseDigest(payload(full)), full);
    assert.deepEqual(parseDigest(payload({ epoch: 0, seq: 0, count: 0, hash: HASH })), { epoch: 0, seq: 0, count: 0, hash: HASH });
  });

  test('not JSON, or not an object, throws', () => {
    assert.throws(() => parseDigest(Buffer.alloc(0)), SyntaxError);
    for (const raw of ['null', '[]', '1', '"x"']) assert.throws(() => parseDigest(payload(raw)), { message: 'digest must be a JSON object' }, raw);
  });

  test('hash is exactly 16 lower-case hex digits', () => {
    for (const hash of ['0123456789abcde', '0123456789abcdef0', '0123456789ABCDEF', '0123456789abcdeg', HASH + '\n', ' ' + HASH, '', 1234567890123456]) {
      assert.throws(() => parseDigest(payload({ ...DIGEST, hash })), { name: 'ClientError' }, JSON.stringify(hash));
    }
  });

  test('epoch, seq, count and the optional counts are non-negative integers', () => {
    for (const key of ['epoch', 'seq', 'count', 'connects', 'disconnects']) {
      for (const value of [-1, 0.5, '1', null, [], {}]) {
        // null is "absent" to simpl-schema: allowed for the optional counts only.
        if (value === null && (key === 'connects' || key === 'disconnects')) continue;
        assert.throws(() => parseDigest(payload({ ...DIGEST, [key]: value })), { name: 'ClientError' }, `${key}=${JSON.stringify(value)}`);
      }
    }
  });

  test('each required key is required', () => {
    for (const key of ['epoch', 'seq', 'count', 'hash'] as const) {
      const { [key]: _omitted, ...rest } = DIGEST;
      assert.throws(() => parseDigest(payload(rest)), { name: 'ClientError' }, key);
    }
  });

  test('unknown and prototype keys are dropped', () => {
    const raw = JSON.stringify(DIGEST).slice(0, -1) + ',"future":{"x":1},"__proto__":{"connects":9},"constructor":"c"}';
    const digest = parseDigest(payload(raw));
    assert.deepEqual(digest, DIGEST);
    assert.equal(digest.connects, undefined);
    assert.equal(Object.getPrototypeOf(digest), Object.prototype);
  });

  test('a large payload of unknown keys is dropped, not refused', () => {
    const extra = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
    assert.deepEqual(parseDigest(payload({ ...extra, ...DIGEST })), DIGEST);
  });
});
