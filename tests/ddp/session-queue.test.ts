import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionQueue } from '../../imports/ddp/session-queue';

function queueOf<T>(runTask: (item: T, unblock: () => void) => unknown, onTaskError: (e: unknown, item: T) => void, max: number) {
  return new SessionQueue<T>({ runTask, onTaskError }, max);
}

describe('SessionQueue', () => {
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
    await new Promise((r) => setTimeout(r, 60));
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
    await new Promise((r) => setTimeout(r, 40));
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
    await new Promise((r) => setTimeout(r, 10));
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

test('after perTurn tasks in a row the queue yields to the event loop, then goes on in order', async () => {
  const ran: number[] = [];
  const queue = new SessionQueue<number>(
    // Tasks that settle at once (a resolved promise) chain through microtasks.
    { runTask: (n) => (ran.push(n), Promise.resolve()), onTaskError: () => {} },
    1000,
    Infinity,
    4,
  );
  for (let i = 0; i < 10; i++) queue.push(i);
  const seenByNextMacrotask = await new Promise<number>((resolve) => setImmediate(() => resolve(ran.length)));
  assert.ok(seenByNextMacrotask < 10, `another macrotask ran before the burst was done (it saw ${seenByNextMacrotask})`);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
