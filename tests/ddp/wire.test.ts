// Unit tests of DDP framing (parseDdp, stringifyDdp, protocolError, negotiateVersion) without a socket; the e2e suites only see the gate's replies.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { negotiateVersion, parseDdp, protocolError, stringifyDdp } from '../../imports/ddp/wire';

describe('parseDdp: text frame to message', () => {
  test('returns null for text that is not JSON (the gate answers "Bad request")', () => {
    for (const raw of ['', ' ', '{', '{msg:"connect"}', "{'msg':'connect'}", '\ufeff{}', 'undefined', 'NaN']) {
      assert.equal(parseDdp(raw), null, JSON.stringify(raw));
    }
  });

  test('returns null for JSON that is not an object', () => {
    for (const raw of ['null', '[]', '[{"msg":"connect"}]', '5', '"connect"', 'true', 'false']) {
      assert.equal(parseDdp(raw), null, raw);
    }
  });

  test('returns any object as it came, even one without `msg` (the caller checks msg)', () => {
    assert.deepEqual(parseDdp('{}'), {});
    assert.deepEqual(parseDdp('{"msg":"connect","version":"1","support":["1"]}'), { msg: 'connect', version: '1', support: ['1'] });
    assert.deepEqual(parseDdp('{"msg":5}'), { msg: 5 });
    assert.deepEqual(parseDdp('{"msg":"a","msg":"b"}'), { msg: 'b' }, 'a duplicate key keeps the last value, as JSON.parse does');
  });

  test('decodes EJSON in fields, params and result', () => {
    const added = parseDdp('{"msg":"added","collection":"c","id":"x","fields":{"d":{"$date":0}}}')!;
    assert.deepEqual(added.fields, { d: new Date(0) });
    const method = parseDdp('{"msg":"method","method":"m","id":"1","params":[{"$binary":"AAEC"},{"$InfNaN":-1}]}')!;
    assert.deepEqual(method.params, [new Uint8Array([0, 1, 2]), -Infinity]);
    const result = parseDdp('{"msg":"result","id":"1","result":{"$escape":{"$date":1}}}')!;
    assert.deepEqual(result.result, { $date: 1 }, '$escape unwraps to the literal object');
  });

  test('leaves EJSON-looking values in other keys alone', () => {
    assert.deepEqual(parseDdp('{"msg":"sub","id":{"$date":0},"name":{"$date":0}}'), { msg: 'sub', id: { $date: 0 }, name: { $date: 0 } });
  });

  test('throws when EJSON decoding fails (the gate answers "Parse error")', () => {
    assert.throws(() => parseDdp('{"msg":"method","params":[{"$type":"nope","$value":1}]}'), /Custom EJSON type nope is not defined/);
    assert.throws(() => parseDdp('{"msg":"method","params":[{"$binary":5}]}'));
    assert.throws(() => parseDdp('{"msg":"added","fields":{"t":{"$type":"oid","$value":"x"}}}'), /Custom EJSON type oid is not defined/);
  });

  test('throws, not crashes, on params nested too deep for the EJSON walk', () => {
    const depth = 100_000;
    const deep = '['.repeat(depth) + ']'.repeat(depth);
    assert.throws(() => parseDdp('{"msg":"method","params":' + deep + '}'), RangeError);
  });

  test('more params than maxParams are left undecoded; exactly maxParams are decoded', () => {
    const raw = '{"msg":"method","params":[{"$date":0},{"$date":1}]}';
    assert.deepEqual(parseDdp(raw, 1)!.params, [{ $date: 0 }, { $date: 1 }]);
    assert.deepEqual(parseDdp(raw, 2)!.params, [new Date(0), new Date(1)]);
    assert.deepEqual(parseDdp(raw)!.params, [new Date(0), new Date(1)], 'no limit by default');
  });

  test('maxParams counts array params only: an object `params` is still decoded', () => {
    assert.deepEqual(parseDdp('{"msg":"method","params":{"a":{"$date":0}}}', 0)!.params, { a: new Date(0) });
  });

  test('maxParams does not skip decoding of fields or result', () => {
    const msg = parseDdp('{"msg":"x","params":[1,2,3],"fields":{"d":{"$date":0}},"result":{"$date":2}}', 1)!;
    assert.deepEqual(msg.params, [1, 2, 3]);
    assert.deepEqual(msg.fields, { d: new Date(0) });
    assert.deepEqual(msg.result, new Date(2));
  });

  test('a `__proto__` key stays an own data key and never changes a prototype', () => {
    const msg = parseDdp('{"msg":"connect","__proto__":{"polluted":1}}')!;
    assert.equal(Object.getPrototypeOf(msg), Object.prototype);
    assert.deepEqual(Object.keys(msg), ['msg', '__proto__']);
    assert.equal((msg as { polluted?: unknown }).polluted, undefined);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype is untouched');

    const method = parseDdp('{"msg":"method","params":[{"__proto__":{"$date":0}}]}')!;
    const param = (method.params as Record<string, unknown>[])[0]!;
    assert.equal(Object.getPrototypeOf(param), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(param, '__proto__')?.value, new Date(0));
  });

  test('`constructor` and `toString` keys are plain data', () => {
    const msg = parseDdp('{"msg":"method","params":[{"constructor":{"$date":0},"toString":1}]}')!;
    const param = (msg.params as Record<string, unknown>[])[0]!;
    assert.deepEqual(param.constructor, new Date(0));
    assert.equal(param.toString, 1);
    assert.equal(Object.prototype.toString.call({}), '[object Object]');
  });
});

describe('stringifyDdp: message to text frame', () => {
  test('fields set to undefined become `cleared`', () => {
    assert.equal(
      stringifyDdp({ msg: 'changed', collection: 'c', id: 'x', fields: { a: 1, b: undefined, c: undefined } }),
      '{"msg":"changed","collection":"c","id":"x","fields":{"a":1},"cleared":["b","c"]}',
    );
  });

  test('an empty `fields` is dropped, whether it came empty or only held cleared keys', () => {
    assert.equal(stringifyDdp({ msg: 'added', collection: 'c', id: 'x', fields: {} }), '{"msg":"added","collection":"c","id":"x"}');
    assert.equal(stringifyDdp({ msg: 'changed', collection: 'c', id: 'x', fields: { b: undefined } }), '{"msg":"changed","collection":"c","id":"x","cleared":["b"]}');
  });

  test('does not change the message it is given', () => {
    const fields = { a: 1, b: undefined };
    const msg = { msg: 'changed', collection: 'c', id: 'x', fields };
    stringifyDdp(msg);
    assert.deepEqual(msg, { msg: 'changed', collection: 'c', id: 'x', fields: { a: 1, b: undefined } });
    assert.equal(msg.fields, fields);
    assert.equal(Object.hasOwn(msg, 'cleared'), false);
  });

  test('encodes EJSON in fields, params and result only', () => {
    assert.equal(
      stringifyDdp({ msg: 'result', id: '1', result: { d: new Date(0), b: new Uint8Array([0, 1, 2]), n: Number.NaN } }),
      '{"msg":"result","id":"1","result":{"d":{"$date":0},"b":{"$binary":"AAEC"},"n":{"$InfNaN":0}}}',
    );
    assert.equal(stringifyDdp({ msg: 'added', fields: { inf: [Number.POSITIVE_INFINITY] } }), '{"msg":"added","fields":{"inf":[{"$InfNaN":1}]}}');
    assert.equal(stringifyDdp({ msg: 'method', params: [new Date(5)] }), '{"msg":"method","params":[{"$date":5}]}');
    assert.equal(stringifyDdp({ msg: 'x', other: new Date(0) }), '{"msg":"x","other":"1970-01-01T00:00:00.000Z"}', 'other keys are plain JSON');
  });

  test('an object that looks like EJSON is escaped, so it reads back as itself', () => {
    const text = stringifyDdp({ msg: 'result', id: '1', result: { $date: 5 } });
    assert.equal(text, '{"msg":"result","id":"1","result":{"$escape":{"$date":5}}}');
    assert.deepEqual(parseDdp(text)!.result, { $date: 5 });
  });

  test('round-trips through parseDdp', () => {
    const msg = { msg: 'result', id: '1', result: { d: new Date(3), b: new Uint8Array([255]), n: Number.NaN, s: 'é\u2028' } };
    assert.deepEqual(parseDdp(stringifyDdp(msg)), msg);
  });

  test('a truthy non-string id throws; a falsy id is sent as it came (ddp-common rule)', () => {
    for (const id of [5, true, {}, ['a']]) {
      assert.throws(() => stringifyDdp({ msg: 'result', id }), { name: 'TypeError', message: 'Message id is not a string' }, JSON.stringify(id));
    }
    assert.equal(stringifyDdp({ msg: 'result', id: 0 }), '{"msg":"result","id":0}');
    assert.equal(stringifyDdp({ msg: 'result', id: '' }), '{"msg":"result","id":""}');
    assert.equal(stringifyDdp({ msg: 'result', id: null }), '{"msg":"result","id":null}');
  });

  test('an undefined result is left out of the frame', () => {
    assert.equal(stringifyDdp({ msg: 'result', id: '1', result: undefined }), '{"msg":"result","id":"1"}');
  });

  test('a non-object `fields` is not swizzled', () => {
    assert.equal(stringifyDdp({ msg: 'added', fields: [1, undefined] }), '{"msg":"added","fields":[1,null]}');
    assert.equal(stringifyDdp({ msg: 'added', fields: null }), '{"msg":"added","fields":null}');
  });
});

describe('protocolError: the {msg:"error"} reply', () => {
  test('without an offending message there is no offendingMessage key', () => {
    assert.deepEqual(protocolError('Parse error', null, 10, 100), { msg: 'error', reason: 'Parse error' });
    assert.deepEqual(protocolError('Parse error', undefined, 10, 100), { msg: 'error', reason: 'Parse error' });
  });

  test('a small frame echoes the message itself, as Meteor does', () => {
    const offending = { msg: 'sub', id: 'a', name: 'n', params: [1] };
    const reply = protocolError('Malformed subscription', offending, 100, 100);
    assert.deepEqual(reply, { msg: 'error', reason: 'Malformed subscription', offendingMessage: offending });
    assert.equal(reply.offendingMessage, offending, 'the very object, up to and including maxOffendingBytes');
  });

  test('an empty offending message is still echoed', () => {
    assert.deepEqual(protocolError('Bad request', {}, 2, 100), { msg: 'error', reason: 'Bad request', offendingMessage: {} });
  });

  test('a large frame echoes only a short string msg and id', () => {
    const offending = { msg: 'method', id: '7', method: 'm', params: ['x'.repeat(5000)] };
    assert.deepEqual(protocolError('Bad request', offending, 101, 100), { msg: 'error', reason: 'Bad request', offendingMessage: { msg: 'method', id: '7' } });
  });

  test('in a large frame, msg and id of 64 characters are echoed, of 65 or of another type are not', () => {
    const at = (msg: unknown, id: unknown) => protocolError('Bad request', { msg, id }, 1_000_000, 10).offendingMessage;
    assert.deepEqual(at('m'.repeat(64), 'i'.repeat(64)), { msg: 'm'.repeat(64), id: 'i'.repeat(64) });
    assert.deepEqual(at('m'.repeat(65), 'i'.repeat(65)), {});
    assert.deepEqual(at(5, { $date: 0 }), {});
    assert.deepEqual(at(['method'], null), {});
    assert.deepEqual(at(undefined, '1'), { id: '1' });
  });

  test('in a large frame, hostile keys are not echoed', () => {
    const offending = JSON.parse('{"msg":"x","__proto__":{"a":1},"constructor":"c"}') as Record<string, unknown>;
    const echo = protocolError('Bad request', offending, 500, 100).offendingMessage as Record<string, unknown>;
    assert.deepEqual(Object.keys(echo), ['msg']);
    assert.equal(Object.getPrototypeOf(echo), Object.prototype);
  });
});

describe('negotiateVersion: Meteor calculateVersion', () => {
  test('the first version the client prefers that the server supports', () => {
    assert.equal(negotiateVersion(['1', 'pre2', 'pre1']), '1');
    assert.equal(negotiateVersion(['pre2', '1']), 'pre2');
    assert.equal(negotiateVersion(['2', 'pre1', '1']), 'pre1');
  });

  test('the server best ("1") when nothing matches', () => {
    assert.equal(negotiateVersion([]), '1');
    assert.equal(negotiateVersion(['2', 'pre3', '']), '1');
    assert.equal(negotiateVersion(['constructor', '__proto__', 'toString', 'length']), '1');
    assert.equal(negotiateVersion(['1 ', 'PRE2']), '1', 'matching is exact');
  });
});
