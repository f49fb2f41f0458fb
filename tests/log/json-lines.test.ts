// Unit tests of jsonLineFormatter's exact lines (time, key order, escaping, special values, hostile keys), beyond logger.test.ts's parse-back checks.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { jsonLineFormatter } from '../../imports/log/json-lines';

const TIME = '2024-05-01T12:00:00.000Z';
const head = (level: string) => `{"level":"${level}","time":"${TIME}"`;

describe('jsonLineFormatter', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: Date.parse(TIME) }));
  afterEach(() => mock.timers.reset());

  test('the doc comment example, byte for byte', () => {
    const format = jsonLineFormatter();
    assert.equal(
      format('warn', 'Client mistake: parse error', { session: 'a1' }),
      '{"level":"warn","time":"2024-05-01T12:00:00.000Z","session":"a1","msg":"Client mistake: parse error"}',
    );
  });

  test('each level is written by its label; no pid, hostname or trailing newline', () => {
    const format = jsonLineFormatter();
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      assert.equal(format(level, 'm', undefined), `${head(level)},"msg":"m"}`);
    }
    assert.equal(format('info', '', {}), `${head('info')},"msg":""}`);
  });

  test('the time is read when the line is made', () => {
    const format = jsonLineFormatter();
    mock.timers.setTime(Date.parse(TIME) + 1234);
    assert.match(format('info', 'later', undefined), /"time":"2024-05-01T12:00:01\.234Z"/);
  });

  test('each call returns only its own line', () => {
    const format = jsonLineFormatter();
    const lines = Array.from({ length: 50 }, (_, i) => format('info', `m${i}`, { i }));
    assert.equal(lines[49], `${head('info')},"i":49,"msg":"m49"}`);
    assert.equal(new Set(lines).size, 50);
  });

  test('reserved keys are renamed context.<key>; nested ones are left alone', () => {
    const format = jsonLineFormatter();
    assert.equal(
      format('info', 'keys', { level: 'fatal', time: 0, msg: 'forged', a: { level: 'x', msg: 'y' } }),
      `${head('info')},"context.level":"fatal","context.time":0,"context.msg":"forged","a":{"level":"x","msg":"y"},"msg":"keys"}`,
    );
  });

  test('a __proto__ key cannot forge level, time or msg, nor become a field', () => {
    const format = jsonLineFormatter();
    const forged = JSON.parse('{"__proto__":{"level":"fatal","msg":"forged","time":"x"},"session":"s"}') as Record<string, unknown>;
    assert.equal(format('info', 'real', forged), `${head('info')},"session":"s","msg":"real"}`);
    assert.equal(format('info', 'real', JSON.parse('{"__proto__":"text"}')), `${head('info')},"msg":"real"}`);
  });

  test('constructor, toString and pino-looking keys are plain fields', () => {
    const format = jsonLineFormatter();
    assert.equal(
      format('info', 'm', { constructor: 'c', toString: 't', pid: 1, hostname: 'h', v: 1 }),
      `${head('info')},"constructor":"c","toString":"t","pid":1,"hostname":"h","v":1,"msg":"m"}`,
    );
  });

  test('an Error, at any depth, becomes {message, stack}', () => {
    const format = jsonLineFormatter();
    const error = new Error('boom');
    error.stack = 'Error: boom\n    at here';
    assert.equal(
      format('error', 'failed', { session: 'a1', error, nested: { inner: error } }),
      `${head('error')},"session":"a1","error":{"message":"boom","stack":"Error: boom\\n    at here"},"nested":{"inner":{"message":"boom","stack":"Error: boom\\n    at here"}},"msg":"failed"}`,
    );
  });

  test('an Error under the key `err` becomes {message, stack} too', () => {
    const format = jsonLineFormatter();
    const err = new Error('boom');
    err.stack = 'S';
    assert.equal(format('error', 'failed', { err }), `${head('error')},"err":{"message":"boom","stack":"S"},"msg":"failed"}`);
  });

  test('BigInts become strings, at any depth', () => {
    const format = jsonLineFormatter();
    assert.equal(format('info', 'm', { n: 10n, o: { m: -(2n ** 70n) } }), `${head('info')},"n":"10","o":{"m":"-1180591620717411303424"},"msg":"m"}`);
  });

  test('undefined and functions are left out; NaN and Infinity become null; a Date its ISO text', () => {
    const format = jsonLineFormatter();
    assert.equal(
      format('info', 'm', { a: undefined, f: () => 1, b: null, c: Number.NaN, d: Number.POSITIVE_INFINITY, e: new Date(0) }),
      `${head('info')},"b":null,"c":null,"d":null,"e":"1970-01-01T00:00:00.000Z","msg":"m"}`,
    );
  });

  test('a cycle replaces the context, never throws', () => {
    const format = jsonLineFormatter();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(format('info', 'cycle', { session: 's', cyclic }), `${head('info')},"context":"[unserialisable context]","msg":"cycle"}`);
  });

  test('a toJSON that throws replaces the context, never throws', () => {
    const format = jsonLineFormatter();
    const hostile = {
      toJSON() {
        throw new Error('nope');
      },
    };
    assert.equal(format('info', 'm', { hostile }), `${head('info')},"context":"[unserialisable context]","msg":"m"}`);
  });

  test('a context getter that throws does not throw out of the formatter', () => {
    const format = jsonLineFormatter();
    const context = {
      get broken(): never {
        throw new Error('getter');
      },
    };
    assert.equal(format('info', 'm', context), `${head('info')},"context":"[unserialisable context]","msg":"m"}`);
  });

  test('DEL and U+2028/U+2029 are escaped in message, values and keys; C0 characters by JSON', () => {
    const format = jsonLineFormatter();
    const hostile = 'a\u0000\u001b[31m\u007f\u2028\u2029\r\nb';
    const line = format('warn', hostile, { [hostile]: hostile });
    assert.doesNotMatch(line, /[\u0000-\u001f\u007f\u2028\u2029]/);
    const escaped = 'a\\u0000\\u001b[31m\\u007f\\u2028\\u2029\\r\\nb';
    assert.equal(line, `${head('warn')},"${escaped}":"${escaped}","msg":"${escaped}"}`);
    const event = JSON.parse(line) as Record<string, unknown>;
    assert.equal(event.msg, hostile);
    assert.equal(event[hostile], hostile);
  });

  test('a large message stays one line', () => {
    const format = jsonLineFormatter();
    const big = 'x\n'.repeat(100_000);
    const line = format('info', big, { big });
    assert.equal(line.includes('\n'), false);
    assert.equal((JSON.parse(line) as { msg: string }).msg.length, 200_000);
  });

  test('formatters are independent', () => {
    const a = jsonLineFormatter();
    const b = jsonLineFormatter();
    assert.equal(a('info', 'from a', undefined), `${head('info')},"msg":"from a"}`);
    assert.equal(b('error', 'from b', { k: 1 }), `${head('error')},"k":1,"msg":"from b"}`);
  });
});
