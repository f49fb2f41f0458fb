import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handleShutdownSignals } from '../../imports/standalone/graceful-shutdown';
import { captureLogger } from '../helpers/capture-logger';

/** SIGUSR2 stands in for SIGTERM, emitted in-process; `exit` is recorded, not called. */
function setup(drain: () => Promise<void>) {
  const { log } = captureLogger();
  const exits: Array<{ code: number; at: number }> = [];
  let resolveExit!: () => void;
  const exited = new Promise<void>((r) => (resolveExit = r));
  const dispose = handleShutdownSignals({ drain }, {
    drainMs: 50, hardExitSlackMs: 50, log, signals: ['SIGUSR2'],
    exit: (code) => (exits.push({ code, at: Date.now() }), resolveExit()),
  });
  return { exits, exited, dispose };
}

test('a drain that finishes exits 0', async (t) => {
  const { exits, exited, dispose } = setup(async () => {});
  t.after(dispose);
  process.emit('SIGUSR2', 'SIGUSR2');
  await exited;
  assert.deepEqual(exits.map((e) => e.code), [0]);
});

test('a drain that hangs is cut by the hard timer at drainMs + slack, with exit 1', (t) => {
  // The hard timer on a mocked clock: exactly at drainMs + slack (100 ms), not a moment before.
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const { exits, dispose } = setup(() => new Promise<void>(() => {}));
  t.after(dispose);
  const startedAt = Date.now();
  process.emit('SIGUSR2', 'SIGUSR2');
  t.mock.timers.tick(99);
  assert.deepEqual(exits, [], 'still draining at 99 ms');
  t.mock.timers.tick(1);
  assert.deepEqual(exits, [{ code: 1, at: startedAt + 100 }]);
});

test('a second signal exits 1 at once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] }); // the hard timer this leaves behind is dropped with the mock
  const { exits, dispose } = setup(() => new Promise<void>(() => {}));
  t.after(dispose);
  process.emit('SIGUSR2', 'SIGUSR2');
  process.emit('SIGUSR2', 'SIGUSR2');
  assert.deepEqual(exits.map((e) => e.code), [1]);
});
