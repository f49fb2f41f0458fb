import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { type QueueRunner, SessionQueue } from '../../imports/ddp/session-queue';

/**
 * SessionQueue, beyond tests/ddp/session-queue.test.ts: the per-turn budget
 * on a mocked setImmediate, order across rejected tasks, the byte and count
 * bounds, the low-water callback and unbounded pushes. No real timers.
 */

/** Let every pending promise callback run (the queue chains settled tasks through microtasks). */
async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A runner that records what it ran and what failed. `behave` decides per
 * item: hold it (a deferred), reject, throw, or settle at once (default:
 * a resolved promise, as Session's async handlers return).
 */
function recordingRunner<T>(behave: (item: T, unblock: () => void) => unknown = () => Promise.resolve()) {
  const ran: T[] = [];
  const errors: [string, T][] = [];
  let lowWater = 0;
  const runner: QueueRunner<T> = {
    runTask(item, unblock) {
      ran.push(item);
      return behave(item, unblock);
    },
    onTaskError: (error, item) => errors.push([(error as Error).message, item]),
    onLowWater: () => lowWater++,
  };
  return { runner, ran, errors, lowWaterCalls: () => lowWater };
}

describe('SessionQueue per-turn budget (mocked setImmediate)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setImmediate'] }));
  afterEach(() => mock.timers.reset());

  test('runs perTurn tasks, yields with setImmediate, then goes on in order', async () => {
    const { runner, ran } = recordingRunner<number>();
    const queue = new SessionQueue(runner, 1000, Infinity, 4);
    for (let i = 0; i < 10; i++) queue.push(i);
    await drainMicrotasks();
    assert.deepEqual(ran, [0, 1, 2, 3], 'stops at the budget until the event loop turns');
    mock.timers.tick(0);
    await drainMicrotasks();
    assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6, 7]);
    mock.timers.tick(0);
    await drainMicrotasks();
    assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(queue.length, 0);
  });

  test('synchronous tasks count against the budget too', async () => {
    const gate = deferred();
    const { runner, ran } = recordingRunner<string>((item) => (item === 'holder' ? gate.promise : undefined));
    const queue = new SessionQueue(runner, 1000, Infinity, 3);
    for (const x of ['holder', 'a', 'b', 'c', 'd', 'e', 'f']) queue.push(x);
    assert.deepEqual(ran, ['holder']);
    const yields = mock.method(globalThis, 'setImmediate');
    try {
      gate.resolve();
      await drainMicrotasks();
      assert.deepEqual(ran, ['holder', 'a', 'b']);
      assert.equal(yields.mock.callCount(), 1);
      // The mocked setImmediate runs immediates queued during a tick in the same tick.
      mock.timers.tick(0);
      assert.deepEqual(ran, ['holder', 'a', 'b', 'c', 'd', 'e', 'f']);
      assert.equal(yields.mock.callCount(), 2, 'one more yield, after c, d, e');
    } finally {
      yields.mock.restore();
    }
  });

  test('a queue that drained starts its next burst with a full budget', async () => {
    const { runner, ran } = recordingRunner<number>();
    const queue = new SessionQueue(runner, 1000, Infinity, 3);
    queue.push(0);
    queue.push(1);
    await drainMicrotasks();
    assert.deepEqual(ran, [0, 1]);
    for (let i = 2; i < 6; i++) queue.push(i);
    await drainMicrotasks();
    assert.deepEqual(ran, [0, 1, 2, 3, 4], 'the two earlier tasks were not charged to this burst');
    mock.timers.tick(0);
    await drainMicrotasks();
    assert.deepEqual(ran, [0, 1, 2, 3, 4, 5]);
  });

  test('while yielded, pushes are queued behind the waiting items, not run at once', async () => {
    const { runner, ran } = recordingRunner<string>();
    const queue = new SessionQueue(runner, 1000, Infinity, 2);
    for (const x of ['a', 'b', 'c']) queue.push(x);
    await drainMicrotasks();
    assert.deepEqual(ran, ['a', 'b']);
    queue.push('d');
    await drainMicrotasks();
    assert.deepEqual(ran, ['a', 'b']);
    mock.timers.tick(0);
    await drainMicrotasks();
    assert.deepEqual(ran, ['a', 'b', 'c', 'd']);
  });

  test('close() while yielded: the resumed queue runs nothing more', async () => {
    const { runner, ran } = recordingRunner<number>();
    const queue = new SessionQueue(runner, 1000, Infinity, 2);
    for (let i = 0; i < 5; i++) queue.push(i);
    await drainMicrotasks();
    queue.close();
    mock.timers.tick(0);
    await drainMicrotasks();
    assert.deepEqual(ran, [0, 1]);
    assert.equal(queue.length, 0);
    assert.equal(queue.push(9), false);
  });
});

describe('SessionQueue errors', () => {
  const failures: [string, (n: number) => unknown][] = [
    ['rejects', () => Promise.reject(new Error('boom'))],
    ['throws', () => {
      throw new Error('boom');
    }],
    ['rejects after a delay', async () => {
      await Promise.resolve();
      throw new Error('boom');
    }],
  ];
  for (const [how, fail] of failures) {
    test(`a task that ${how} is reported with its item and the queue goes on in order`, async () => {
      const { runner, ran, errors } = recordingRunner<number>((n) => (n % 3 === 1 ? fail(n) : Promise.resolve()));
      const queue = new SessionQueue(runner, 100);
      for (let i = 0; i < 7; i++) queue.push(i);
      await drainMicrotasks();
      assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6]);
      assert.deepEqual(errors, [
        ['boom', 1],
        ['boom', 4],
      ]);
      assert.equal(queue.length, 0);
    });
  }

  for (const [how, fail] of failures) {
    test(`an onTaskError that throws, for a task that ${how}, neither stalls the queue nor leaves an unhandled rejection`, async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const ran: number[] = [];
        const queue = new SessionQueue<number>(
          {
            runTask: (n) => (ran.push(n), n === 1 ? fail(n) : Promise.resolve()),
            onTaskError: () => {
              throw new Error('the error handler failed too');
            },
          },
          100,
        );
        for (let i = 0; i < 4; i++) queue.push(i);
        await drainMicrotasks();
        await new Promise((resolve) => setImmediate(resolve)); // unhandled rejections are reported after the microtasks
        assert.deepEqual(ran, [0, 1, 2, 3]);
        assert.equal(queue.length, 0);
        assert.deepEqual(unhandled, []);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  }

  test('a failing task holds the queue until it rejects (the next task never overlaps it)', async () => {
    const held = deferred();
    const log: string[] = [];
    const { runner, errors } = recordingRunner<string>(async (name) => {
      log.push(`start ${name}`);
      if (name === 'slow-fail') await held.promise;
      log.push(`end ${name}`);
    });
    const queue = new SessionQueue(runner, 100);
    queue.push('slow-fail');
    queue.push('next');
    await drainMicrotasks();
    assert.deepEqual(log, ['start slow-fail']);
    held.reject(new Error('late boom'));
    await drainMicrotasks();
    assert.deepEqual(log, ['start slow-fail', 'start next', 'end next']);
    assert.deepEqual(errors, [['late boom', 'slow-fail']]);
  });

  test('unblock() called twice, and the settling after it, start the next task only once', async () => {
    const first = deferred();
    let unblockFirst: (() => void) | undefined;
    const { runner, ran } = recordingRunner<string>((name, unblock) => {
      if (name !== 'first') return Promise.resolve();
      unblockFirst = unblock;
      return first.promise;
    });
    const queue = new SessionQueue(runner, 100);
    for (const x of ['first', 'second', 'third']) queue.push(x);
    assert.deepEqual(ran, ['first']);
    unblockFirst?.();
    unblockFirst?.();
    assert.deepEqual(ran, ['first', 'second'], 'unblock() starts the next task at once');
    first.resolve();
    await drainMicrotasks();
    assert.deepEqual(ran, ['first', 'second', 'third']);
  });
});

describe('SessionQueue bounds', () => {
  /** A queue whose first task ('holder') holds it until `release`; any item named 'hold…' holds it until `gate(name).resolve()`. */
  function heldQueue(maxLength: number, maxBytes = Infinity, lowWater = -1) {
    const gates = new Map<string, Deferred>();
    const gate = (name: string) => {
      let d = gates.get(name);
      if (!d) gates.set(name, (d = deferred()));
      return d;
    };
    const rec = recordingRunner<string>((item) => (item.startsWith('hold') ? gate(item).promise : Promise.resolve()));
    const queue = new SessionQueue(rec.runner, maxLength, maxBytes, Infinity, lowWater);
    assert.equal(queue.push('holder', 0), true);
    assert.equal(queue.length, 0, 'the running task is not counted as waiting');
    return { queue, release: () => gate('holder').resolve(), gate, ...rec };
  }

  test('maxLength counts waiting items, not the one running', () => {
    const { queue } = heldQueue(3);
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((x) => queue.push(x)),
      [true, true, true, false],
    );
    assert.equal(queue.length, 3);
  });

  test('room frees up as items run', async () => {
    const { queue, release, ran } = heldQueue(2);
    queue.push('a');
    queue.push('b');
    assert.equal(queue.push('c'), false);
    release();
    await drainMicrotasks();
    assert.equal(queue.push('c'), true);
    await drainMicrotasks();
    assert.deepEqual(ran, ['holder', 'a', 'b', 'c']);
  });

  const byteCases: { name: string; maxBytes: number; pushes: [string, number][]; accepted: boolean[] }[] = [
    { name: 'fills up to maxBytes exactly', maxBytes: 100, pushes: [['a', 60], ['b', 40], ['c', 1]], accepted: [true, true, false] },
    { name: 'a zero-size item fits a full queue', maxBytes: 100, pushes: [['a', 100], ['b', 0]], accepted: [true, true] },
    { name: 'a refused item leaves room for a smaller one', maxBytes: 100, pushes: [['a', 50], ['b', 60], ['c', 50]], accepted: [true, false, true] },
    { name: 'an item finding no one waiting is taken whatever its size', maxBytes: 100, pushes: [['a', 10_000], ['b', 1]], accepted: [true, false] },
  ];
  for (const { name, maxBytes, pushes, accepted } of byteCases) {
    test(`maxBytes: ${name}`, () => {
      const { queue } = heldQueue(1000, maxBytes);
      assert.deepEqual(
        pushes.map(([item, size]) => queue.push(item, size)),
        accepted,
      );
    });
  }

  test('bytes of items that started running no longer count', async () => {
    const { queue, release } = heldQueue(1000, 100);
    queue.push('hold-a', 60);
    queue.push('b', 40);
    assert.equal(queue.push('c', 60), false);
    release();
    await drainMicrotasks(); // hold-a runs (and holds): only b's 40 bytes wait
    assert.equal(queue.length, 1);
    assert.equal(queue.push('c', 60), true);
    assert.equal(queue.push('d', 1), false);
  });

  test('push(item, size, bounded = false) skips both bounds, and its bytes still count against later pushes', () => {
    const { queue } = heldQueue(2, 100);
    queue.push('a', 50);
    queue.push('b', 50);
    assert.equal(queue.push('c', 1), false);
    assert.equal(queue.push('server task', 500, false), true);
    assert.equal(queue.length, 3);
    assert.equal(queue.push('d', 0), false, 'over maxLength');
  });

  test('an unbounded push is still refused after close()', () => {
    const { queue } = heldQueue(2);
    queue.close();
    assert.equal(queue.push('server task', 0, false), false);
  });

  test('unbounded items run in arrival order with the others', async () => {
    const { queue, release, ran } = heldQueue(1);
    queue.push('a');
    assert.equal(queue.push('b'), false);
    queue.push('s1', 0, false);
    queue.push('s2', 0, false);
    release();
    await drainMicrotasks();
    assert.deepEqual(ran, ['holder', 'a', 's1', 's2']);
  });

  test('close() drops the waiting items but lets the running one finish; nothing runs after it', async () => {
    const { queue, release, ran } = heldQueue(10);
    queue.push('a');
    queue.push('b');
    queue.close();
    assert.equal(queue.length, 0);
    release();
    await drainMicrotasks();
    assert.deepEqual(ran, ['holder']);
  });

  test('order holds across the internal compaction of a long backlog, with pushes while it drains', async () => {
    const n = 3000;
    const gate = deferred();
    const done = deferred();
    const ran: string[] = [];
    const queue: SessionQueue<string> = new SessionQueue<string>(
      {
        runTask(item) {
          ran.push(item);
          if (item === 'holder') return gate.promise;
          if (item === '1500') queue.push('late'); // after the consumed prefix is dropped (head >= 1024, half the array)
          if (item === 'late') done.resolve();
          return Promise.resolve();
        },
        onTaskError: (error) => assert.fail(String(error)),
      },
      10_000,
    );
    queue.push('holder');
    for (let i = 0; i < n; i++) queue.push(String(i));
    gate.resolve();
    await done.promise;
    assert.deepEqual(ran, ['holder', ...Array.from({ length: n }, (_, i) => String(i)), 'late']);
  });

  describe('low water', () => {
    test('onLowWater fires each time taking an item leaves exactly lowWater waiting', async () => {
      const { queue, release, lowWaterCalls } = heldQueue(100, Infinity, 2);
      for (const x of ['a', 'b', 'c', 'd', 'e']) queue.push(x);
      assert.equal(lowWaterCalls(), 0, 'pushing never fires it');
      release();
      await drainMicrotasks();
      assert.equal(lowWaterCalls(), 1, 'from 5 waiting down to 0 passes 2 once');
    });

    test('it fires again after the queue refilled past it', async () => {
      const gates = new Map<string, Deferred>();
      const rec = recordingRunner<string>((item) => gates.get(item)?.promise ?? Promise.resolve());
      const queue = new SessionQueue(rec.runner, 100, Infinity, Infinity, 1);
      gates.set('h1', deferred());
      gates.set('h2', deferred());
      queue.push('h1');
      queue.push('h2');
      queue.push('x');
      gates.get('h1')?.resolve();
      await drainMicrotasks(); // h2 runs, leaving x: 1 waiting
      assert.equal(rec.lowWaterCalls(), 1);
      queue.push('y');
      queue.push('z');
      gates.get('h2')?.resolve();
      await drainMicrotasks();
      assert.equal(rec.lowWaterCalls(), 2);
    });

    test('lowWater = 0 fires as the last waiting item is taken, even on an idle queue', () => {
      const rec = recordingRunner<string>();
      const queue = new SessionQueue(rec.runner, 100, Infinity, Infinity, 0);
      queue.push('only');
      assert.equal(rec.lowWaterCalls(), 1);
    });

    test('the default (-1) never fires', async () => {
      const { queue, release, lowWaterCalls } = heldQueue(100);
      for (const x of ['a', 'b']) queue.push(x);
      release();
      await drainMicrotasks();
      assert.equal(lowWaterCalls(), 0);
    });

    test('a runner without onLowWater is fine', async () => {
      const ran: string[] = [];
      const queue = new SessionQueue<string>({ runTask: (x) => void ran.push(x), onTaskError: () => {} }, 100, Infinity, Infinity, 0);
      queue.push('a');
      assert.deepEqual(ran, ['a']);
    });
  });
});

describe('SessionQueue default per-turn budget', () => {
  test('100,000 tasks that settle at once, queued behind a held one, all run in order without overflowing the stack (the default budget yields)', async () => {
    let release!: () => void;
    const ran: number[] = [];
    const queue = new SessionQueue<number>(
      {
        runTask: (n) => {
          if (n === -1) return new Promise<void>((resolve) => (release = resolve));
          ran.push(n);
          return undefined;
        },
        onTaskError: (error) => assert.fail(String(error)),
      },
      200_000,
    );
    queue.push(-1);
    for (let i = 0; i < 100_000; i++) queue.push(i);
    release();
    while (ran.length < 100_000) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ran[99_999], 99_999);
    assert.ok(ran.every((n, i) => n === i), 'in order');
  });
});
