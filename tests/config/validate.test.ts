// Unit tests of each validate.ts checker at its bounds (every setting's min/max/zero, types, quoting, argv), beyond validation.test.ts's one-bad-value-per-setting lines via loadConfig.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  ConfigError,
  checkInstanceId,
  checkInteger,
  checkLogFormat,
  checkLogLevel,
  describeRange,
  INTEGER_SETTINGS,
  type IntegerRange,
  type IntegerSetting,
  parseCommandLine,
  readBoolean,
  readInteger,
} from '../../imports/config/validate';

const SETTINGS = Object.entries(INTEGER_SETTINGS) as Array<[IntegerSetting, IntegerRange]>;
const refusal = (line: string) => ({ name: 'ConfigError', message: line });

describe('ConfigError', () => {
  test('is an Error named ConfigError', () => {
    const error = new ConfigError('x');
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'ConfigError');
    assert.equal(String(error), 'ConfigError: x');
  });
});

describe('describeRange', () => {
  test('the four shapes: with or without zero, min 0 or not, unit or not', () => {
    assert.equal(describeRange({ min: 2, max: 5 }), 'an integer from 2 to 5');
    assert.equal(describeRange({ min: 2, max: 5, unit: 'ms' }), 'an integer from 2 to 5 (ms)');
    assert.equal(describeRange({ min: 0, max: 5 }), 'an integer from 0 to 5');
    assert.equal(describeRange({ min: 0, max: 5, zero: 'off', unit: 's' }), 'an integer from 0 (off) to 5 (s)');
    assert.equal(describeRange({ min: 1, max: 5, zero: 'off', unit: 'u' }), '0 (off) or an integer from 1 to 5 (u)');
  });
});

describe('INTEGER_SETTINGS', () => {
  test('every range is sane: safe integers, 0 ≤ min ≤ max', () => {
    for (const [name, range] of SETTINGS) {
      assert.ok(Number.isSafeInteger(range.min) && Number.isSafeInteger(range.max), name);
      assert.ok(range.min >= 0 && range.min <= range.max, name);
    }
  });
});

describe('readInteger: every setting at its bounds', () => {
  for (const [name, range] of SETTINGS) {
    test(name, () => {
      const read = (raw: string) => readInteger({ [name]: raw }, name);
      const line = (raw: string) => `${name}=${JSON.stringify(raw)} is not allowed: ${describeRange(range)}`;
      assert.equal(read(String(range.min)), range.min);
      assert.equal(read(String(range.max)), range.max);
      assert.throws(() => read(String(range.max + 1)), refusal(line(String(range.max + 1))));
      if (range.min > 0) {
        if (range.zero) assert.equal(read('0'), 0, '0 has a meaning');
        else assert.throws(() => read('0'), refusal(line('0')));
        if (range.min > 1) assert.throws(() => read(String(range.min - 1)), refusal(line(String(range.min - 1))));
      }
      assert.throws(() => read('-1'), refusal(line('-1')));
    });
  }
});

describe('readInteger: text forms', () => {
  const read = (raw: string | undefined) => readInteger({ PORT: raw }, 'PORT');
  const portLine = (raw: string) => `PORT=${JSON.stringify(raw)} is not allowed: an integer from 0 (any free port) to 65535`;

  test('unset or empty is undefined (the default applies)', () => {
    assert.equal(readInteger({}, 'PORT'), undefined);
    assert.equal(read(undefined), undefined);
    assert.equal(read(''), undefined);
  });

  test('plain decimal digits, with surrounding whitespace and leading zeros, are read', () => {
    assert.equal(read(' 80 '), 80);
    assert.equal(read('\n80\t'), 80);
    assert.equal(read('0080'), 80);
  });

  test('anything else is refused, including what Number() would accept', () => {
    for (const raw of [' ', '+5', '1e3', '0x50', '0b1', '80.0', '8 0', '80px', 'Infinity', 'NaN', '８０', '9'.repeat(400)]) {
      assert.throws(() => read(raw), { name: 'ConfigError' }, raw);
    }
    assert.throws(() => read('0x50'), refusal(portLine('0x50')));
  });

  test('a long value is cut to 80 characters in the line', () => {
    const raw = 'y'.repeat(1_000_000);
    assert.throws(() => read(raw), refusal(portLine('y'.repeat(80) + '…')));
  });

  test('control characters are JSON-escaped, so the error is one line', () => {
    assert.throws(() => read('8\n0\u001b'), refusal('PORT="8\\n0\\u001b" is not allowed: an integer from 0 (any free port) to 65535'));
  });
});

describe('checkInteger: a settings value', () => {
  test('accepts an integer in range; `source` names it in the line', () => {
    assert.equal(checkInteger('MQTT_KEEPALIVE', 30), 30);
    assert.throws(() => checkInteger('MQTT_KEEPALIVE', 0, 'settings.presence.mqtt.keepaliveSeconds'), refusal('settings.presence.mqtt.keepaliveSeconds=0 is not allowed: an integer from 1 to 65535 (s)'));
    assert.throws(() => checkInteger('MQTT_KEEPALIVE', 0), refusal('MQTT_KEEPALIVE=0 is not allowed: an integer from 1 to 65535 (s)'));
  });

  test('does not convert: a numeric string, a boolean or null is refused', () => {
    const tail = ' is not allowed: an integer from 0 (any free port) to 65535';
    assert.throws(() => checkInteger('PORT', '80'), refusal('PORT="80"' + tail));
    assert.throws(() => checkInteger('PORT', true), refusal('PORT=true' + tail));
    assert.throws(() => checkInteger('PORT', null), refusal('PORT=null' + tail));
    assert.throws(() => checkInteger('PORT', undefined), refusal('PORT=undefined' + tail));
    assert.throws(() => checkInteger('PORT', [80]), refusal('PORT=[80]' + tail));
  });

  test('NaN, ±Infinity and fractions are refused', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 80.5, Number.EPSILON]) {
      assert.throws(() => checkInteger('PORT', value), { name: 'ConfigError' }, String(value));
    }
  });

  test('an object value is shown as JSON cut to 80 characters', () => {
    const shown = JSON.stringify({ a: 'x'.repeat(200) }).slice(0, 80);
    assert.throws(() => checkInteger('PORT', { a: 'x'.repeat(200) }), refusal(`PORT=${shown} is not allowed: an integer from 0 (any free port) to 65535`));
  });

  test('a value JSON cannot show still gives a ConfigError', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => checkInteger('PORT', 80n), { name: 'ConfigError' });
    assert.throws(() => checkInteger('PORT', cyclic), { name: 'ConfigError' });
  });
});

describe('readBoolean', () => {
  test('exactly "true" or "false"; unset or empty is the fallback', () => {
    assert.equal(readBoolean({}, 'X', true), true);
    assert.equal(readBoolean({ X: '' }, 'X', false), false);
    assert.equal(readBoolean({ X: 'true' }, 'X', false), true);
    assert.equal(readBoolean({ X: 'false' }, 'X', true), false);
  });

  test('anything else is refused', () => {
    for (const raw of ['TRUE', 'True', '1', '0', 'yes', 'on', ' true', 'true ']) {
      assert.throws(() => readBoolean({ LOG_CONNECTIONS: raw }, 'LOG_CONNECTIONS', false), refusal(`LOG_CONNECTIONS=${JSON.stringify(raw)} is not allowed: true or false`));
    }
  });
});

describe('checkLogLevel and checkLogFormat', () => {
  test('log level: unset is info; the five names exactly', () => {
    assert.equal(checkLogLevel(undefined), 'info');
    assert.equal(checkLogLevel(''), 'info');
    for (const level of ['debug', 'info', 'warn', 'error', 'silent']) assert.equal(checkLogLevel(level), level);
    for (const raw of ['INFO', 'verbose', 'trace', '__proto__', 'constructor', 'length', ' info']) {
      assert.throws(() => checkLogLevel(raw), refusal(`LOG_LEVEL=${JSON.stringify(raw)} is not allowed: one of debug, info, warn, error, silent`));
    }
  });

  test('log format: unset is pretty on a terminal, json otherwise; an explicit value wins', () => {
    assert.equal(checkLogFormat(undefined, true), 'pretty');
    assert.equal(checkLogFormat(undefined, false), 'json');
    assert.equal(checkLogFormat('', true), 'pretty');
    assert.equal(checkLogFormat('', false), 'json');
    assert.equal(checkLogFormat('json', true), 'json');
    assert.equal(checkLogFormat('pretty', false), 'pretty');
    for (const raw of ['JSON', 'text', '__proto__', 'toString']) {
      assert.throws(() => checkLogFormat(raw, false), refusal(`LOG_FORMAT=${JSON.stringify(raw)} is not allowed: one of json, pretty`));
    }
  });
});

describe('checkInstanceId: one MQTT topic segment', () => {
  const refusedLine = (value: string) => `S=${JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value)} is not allowed: 1 to 64 characters, none of '/', '+', '#' or NUL`;

  test('1 to 64 characters without / + # or NUL are kept as given', () => {
    for (const value of ['a', 'x'.repeat(64), 'rack-7.eu_west', '__proto__', 'constructor', '$SYS', ' ', 'é']) {
      assert.equal(checkInstanceId(value, 'S'), value);
    }
  });

  test('empty, too long, or with a topic character is refused', () => {
    for (const value of ['', 'x'.repeat(65), 'rack/7', 'a+b', '#', 'a\u0000b', 'x'.repeat(1000)]) {
      assert.throws(() => checkInstanceId(value, 'S'), refusal(refusedLine(value)), JSON.stringify(value.slice(0, 20)));
    }
  });
});

describe('parseCommandLine: only --settings <file>', () => {
  test('no arguments, or the one option in either spelling', () => {
    assert.deepEqual(parseCommandLine([]), { settingsFile: undefined });
    assert.deepEqual(parseCommandLine(['--settings', 'a.json']), { settingsFile: 'a.json' });
    assert.deepEqual(parseCommandLine(['--settings=b.json']), { settingsFile: 'b.json' });
    assert.deepEqual(parseCommandLine(['--settings', '-']), { settingsFile: '-' });
  });

  test('given twice, the last one counts', () => {
    assert.deepEqual(parseCommandLine(['--settings', 'a', '--settings', 'b']), { settingsFile: 'b' });
  });

  test('a missing or empty path is refused with one line', () => {
    for (const argv of [['--settings'], ['--settings='], ['--settings', ''], ['--settings', '--other']]) {
      assert.throws(() => parseCommandLine(argv), refusal('--settings needs a file path'), JSON.stringify(argv));
    }
  });

  test('unknown options and positionals are refused, naming the only option', () => {
    assert.throws(() => parseCommandLine(['-s', 'x']), refusal("Command line: Unknown option '-s' (the only option is --settings <file>)"));
    assert.throws(() => parseCommandLine(['--__proto__']), refusal("Command line: Unknown option '--__proto__' (the only option is --settings <file>)"));
    assert.throws(
      () => parseCommandLine(['--', 'x']),
      refusal("Command line: Unexpected argument 'x'. This command does not take positional arguments (the only option is --settings <file>)"),
    );
  });

  test('an argument with a newline still makes a one-line error', () => {
    assert.throws(() => parseCommandLine(['--a\nb']), (error: Error) => error instanceof ConfigError && !error.message.includes('\n'));
  });
});

describe('the README configuration table mirrors INTEGER_SETTINGS (the caveat in validate.ts)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const [name, range] of SETTINGS) {
    test(name, () => {
      assert.ok(readme.includes(`| \`${name}\` | ${describeRange(range)} |`), `README row for ${name}: ${describeRange(range)}`);
    });
  }
});
