import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, type LineLevel } from '../../imports/log/logger';
import { spawnApp } from '../helpers/app-process';
import { captureLogger } from '../helpers/capture-logger';

function jsonLogger(level: Parameters<typeof createLogger>[0] = 'debug') {
  const lines: Array<{ level: LineLevel; line: string }> = [];
  const log = createLogger(level, (lvl, line) => lines.push({ level: lvl, line }), { format: 'json' });
  return { log, lines, parsed: () => lines.map(({ line }) => JSON.parse(line) as Record<string, unknown>) };
}

const HOSTILE = 'sub "x"\n2024-01-01T00:00:00.000Z ERROR forged\r\u0000\u001b[31mred\u007f\u2028\u2029end';

describe('logger: LOG_FORMAT=json', () => {
  test('one JSON object per line: level, time, msg, and the context as fields (session among them)', () => {
    const { log, lines, parsed } = jsonLogger();
    log.info('Client connected', { session: 'a1', clientAddress: '10.0.0.1' });
    log.warn('Client mistake: parse error', { session: 'b2', suppressedSinceLastLine: 3 });
    log.error('no context');
    assert.equal(lines.length, 3);
    const [first, second, third] = parsed();
    assert.equal(first!.level, 'info');
    assert.equal(first!.msg, 'Client connected');
    assert.equal(first!.session, 'a1');
    assert.equal(first!.clientAddress, '10.0.0.1');
    assert.ok(!Number.isNaN(Date.parse(first!.time as string)), 'ISO time');
    assert.deepEqual(Object.keys(second!).sort(), ['level', 'msg', 'session', 'suppressedSinceLastLine', 'time']);
    assert.equal(second!.suppressedSinceLastLine, 3);
    assert.deepEqual(Object.keys(third!).sort(), ['level', 'msg', 'time']);
    assert.deepEqual(lines.map((l) => l.level), ['info', 'warn', 'error']);
  });

  test('client input cannot break a line or reach the terminal raw, and parses back unchanged', () => {
    const { log, lines, parsed } = jsonLogger();
    log.warn(HOSTILE, { session: 's', name: HOSTILE });
    const { line } = lines[0]!;
    assert.doesNotMatch(line, /[\u0000-\u001f\u007f\u2028\u2029]/);
    const event = parsed()[0]!;
    assert.equal(event.msg, HOSTILE);
    assert.equal(event.name, HOSTILE);
    assert.equal(event.session, 's');
  });

  test('Errors keep message and stack; reserved keys cannot overwrite the line\'s own; a cycle does not throw', () => {
    const { log, parsed } = jsonLogger();
    log.error('Could not insert connection record', { session: 'a1', error: new Error('boom') });
    log.info('keys', { level: 'fake', msg: 'fake', time: 0 });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    log.info('cycle', { session: 'c3', cyclic });
    const [error, keys, cycle] = parsed();
    assert.equal((error!.error as { message: string }).message, 'boom');
    assert.match((error!.error as { stack: string }).stack, /Error: boom/);
    assert.equal(keys!.level, 'info');
    assert.equal(keys!.msg, 'keys');
    assert.equal(keys!['context.level'], 'fake');
    assert.equal(cycle!.msg, 'cycle');
  });

  test('level filtering', () => {
    const warn = jsonLogger('warn');
    warn.log.debug('d');
    warn.log.info('i');
    warn.log.warn('w');
    warn.log.error('e');
    assert.deepEqual(warn.parsed().map((e) => e.msg), ['w', 'e']);
    const silent = jsonLogger('silent');
    silent.log.error('e');
    assert.equal(silent.lines.length, 0);
    const debug = jsonLogger('debug');
    debug.log.debug('d');
    assert.equal(debug.parsed()[0]!.level, 'debug');
  });
});

describe('logger: LOG_FORMAT=pretty (and the tests\' capture logger)', () => {
  test('`<time> LEVEL message {context}`, control characters escaped', () => {
    const lines: string[] = [];
    const log = createLogger('info', (_l, line) => lines.push(line), { format: 'pretty' });
    log.debug('hidden');
    log.warn(HOSTILE, { session: 'a1' });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\S+Z WARN sub "x"\\u000a2024/);
    assert.match(lines[0]!, / \{"session":"a1"\}$/);
    assert.doesNotMatch(lines[0]!, /[\u0000-\u001f\u007f\u2028\u2029]/);
  });

  test('the capture logger keeps each event as a record and as its formatted line', () => {
    const { log, logs, logLines } = captureLogger();
    log.info('Client connected', { session: 'a1' });
    assert.deepEqual(logs, [{ level: 'info', message: 'Client connected', context: { session: 'a1' } }]);
    // logLines on purpose: the line format itself, which failure messages and DEBUG_TEST_LOGS show.
    assert.match(logLines[0]!, / INFO Client connected \{"session":"a1"\}$/);
  });
});

describe('logger: the standalone process', () => {
  test('writes JSON lines by default when its output is not a terminal', async () => {
    const app = await spawnApp({ LOG_FORMAT: '' });
    try {
      const events = app.output.map((line) => JSON.parse(line) as Record<string, unknown>);
      const listening = events.find((e) => e.msg === 'Listening');
      assert.equal(listening?.level, 'info');
      assert.equal(listening?.url, app.url);
    } finally {
      await app.kill('SIGKILL');
    }
  });
});
