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

test('a drain that hangs is cut by the hard timer at drainMs + slack, with exit 1', async (t) => {
  const { exits, exited, dispose } = setup(() => new Promise<void>(() => {}));
  t.after(dispose);
  const startedAt = Date.now();
  process.emit('SIGUSR2', 'SIGUSR2');
  await exited;
  assert.equal(exits[0]!.code, 1);
  const ms = exits[0]!.at - startedAt;
  assert.ok(ms >= 95 && ms < 300, `hard exit after ${ms} ms`);
});

test('a second signal exits 1 at once', async (t) => {
  const { exits, dispose } = setup(() => new Promise<void>(() => {}));
  t.after(dispose);
  process.emit('SIGUSR2', 'SIGUSR2');
  process.emit('SIGUSR2', 'SIGUSR2');
  assert.deepEqual(exits.map((e) => e.code), [1]);
  await new Promise((r) => setTimeout(r, 150)); // let the hard timer of this test fire before the next
});
