import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { SessionQueue } from '../../imports/ddp/session-queue';

/** Let every pending promise callback run (the queue chains settled tasks through microtasks). */
async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** Move the mocked clock `ms` forward, 1 ms at a time, letting the promise callbacks each timer wakes run. */
async function advance(ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    mock.timers.tick(1);
    await drainMicrotasks();
  }
}

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function queueOf<T>(runTask: (item: T, unblock: () => void) => unknown, onTaskError: (e: unknown, item: T) => void, max: number) {
  return new SessionQueue<T>({ runTask, onTaskError }, max);
}

describe('SessionQueue', () => {
  // The tasks' own delays run on a mocked setTimeout: the test moves the clock instead of sleeping.
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('runs tasks one at a time in arrival order, each holding the next until it settles', async () => {
    const log: string[] = [];
    const queue = queueOf<number>(
      async (n) => {
        log.push(`start ${n}`);
        await new Promise((r) => setTimeout(r, 5 * (3 - n)));
        log.push(`end ${n}`);
      },
      () => {},
      100,
    );
    for (const n of [0, 1, 2]) queue.push(n);
    await advance(15 + 10 + 5); // one after the other; run at once, 2 (5 ms) would end first
    assert.deepEqual(log, ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  test('unblock() lets the next task start before the current one settles', async () => {
    const log: string[] = [];
    const queue = queueOf<string>(
      async (name, unblock) => {
        log.push(`start ${name}`);
        if (name === 'slow') {
          unblock();
          await new Promise((r) => setTimeout(r, 20));
        }
        log.push(`end ${name}`);
      },
      () => {},
      100,
    );
    queue.push('slow');
    queue.push('fast');
    await advance(20);
    assert.deepEqual(log, ['start slow', 'start fast', 'end fast', 'end slow']);
  });

  test('survives a task that throws or rejects, reporting each error', async () => {
    const errors: string[] = [];
    const done: number[] = [];
    const queue = queueOf<number>(
      (n) => {
        if (n === 1) throw new Error('sync boom');
        if (n === 2) return Promise.reject(new Error('async boom'));
        done.push(n);
        return undefined;
      },
      (e) => errors.push((e as Error).message),
      100,
    );
    for (const n of [0, 1, 2, 3]) queue.push(n);
    await drainMicrotasks(); // no timer involved: settled and failed tasks chain through microtasks
    assert.deepEqual(done, [0, 3]);
    assert.deepEqual(errors, ['sync boom', 'async boom']);
  });

  test('refuses items beyond maxLength and after close', async () => {
    const queue = queueOf<number>(() => new Promise(() => {}), () => {}, 2);
    assert.equal(queue.push(0), true); // running, not waiting
    assert.equal(queue.push(1), true);
    assert.equal(queue.push(2), true);
    assert.equal(queue.push(3), false);
    queue.close();
    assert.equal(queue.push(4), false);
  });
});

test('after perTurn tasks in a row the queue yields to the event loop, then goes on in order', { timeout: 5000 }, async () => {
  const ran: number[] = [];
  const lastRan = signal();
  const queue = new SessionQueue<number>(
    // Tasks that settle at once (a resolved promise) chain through microtasks.
    { runTask: (n) => (ran.push(n), n === 9 && lastRan.resolve(), Promise.resolve()), onTaskError: () => {} },
    1000,
    Infinity,
    4,
  );
  for (let i = 0; i < 10; i++) queue.push(i);
  const seenByNextMacrotask = await new Promise<number>((resolve) => setImmediate(() => resolve(ran.length)));
  assert.ok(seenByNextMacrotask < 10, `another macrotask ran before the burst was done (it saw ${seenByNextMacrotask})`);
  await lastRan.promise;
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
