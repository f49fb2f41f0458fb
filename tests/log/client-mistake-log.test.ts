import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClientMistakeLog } from '../../imports/log/client-mistake-log';
import { captureLogger } from '../helpers/capture-logger';

describe('ClientMistakeLog', () => {
  test('one line per kind per interval, then the count of those suppressed; totals keep everything', () => {
    const { log, logs } = captureLogger();
    let now = 0;
    const mistakes = new ClientMistakeLog(log, 1000, () => now);
    for (let i = 0; i < 100; i++) mistakes.report('parse error', { session: 's' });
    mistakes.report('bad request');
    assert.deepEqual(logs, [
      { level: 'warn', message: 'Client mistake: parse error', context: { session: 's' } },
      { level: 'warn', message: 'Client mistake: bad request', context: {} },
    ]);
    now = 999;
    mistakes.report('parse error');
    assert.equal(logs.length, 2);
    now = 1000;
    mistakes.report('parse error');
    assert.equal(logs.length, 3);
    assert.deepEqual(logs[2], { level: 'warn', message: 'Client mistake: parse error', context: { suppressedSinceLastLine: 100 } });
    assert.equal(mistakes.totals().get('parse error'), 102);
    assert.equal(mistakes.totals().get('bad request'), 1);
  });

  test('never a stack trace, and client text in the context stays on one line', () => {
    // logLines on purpose: this test is about the formatted line itself.
    const { log, logLines } = captureLogger();
    new ClientMistakeLog(log, 1000).report('malformed message', { session: 'x\ny' });
    assert.equal(logLines.length, 1);
    assert.ok(!logLines[0]!.includes('\n'));
    assert.ok(!logLines[0]!.includes('stack'));
  });
});
