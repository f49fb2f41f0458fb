/**
 * Per-session serial queue (Meteor's processMessage/processNext).
 *
 * Messages run one at a time in arrival order. A task holds the queue until it
 * settles or calls `unblock()`; a rejected or throwing task only unblocks, it
 * never stops the queue. `maxLength` and `maxBytes` (the summed sizes the
 * caller gives each item) bound what a flooding client can pile up.
 *
 * Fairness: tasks that settle at once chain through microtasks, so without a
 * break one session's burst (5,000 pipelined calls) would hold the event loop
 * until it is done. After `perTurn` tasks in a row the queue yields
 * (setImmediate), letting other sessions' I/O and timers run.
 */
export interface QueueRunner<T> {
  /** Run one item; return a promise to hold the queue until it settles. */
  runTask(item: T, unblock: () => void): unknown;
  onTaskError(error: unknown, item: T): void;
  /** The queue just shrank to `lowWater` items (see the constructor). */
  onLowWater?(): void;
}

export class SessionQueue<T> {
  private readonly items: T[] = [];
  private readonly sizes: number[] = [];
  private queuedBytes = 0;
  private head = 0;
  private running = false;
  private ranSinceYield = 0;
  private closed = false;

  /** The runner is an object, not two closures: one queue per session, so every byte counts. */
  constructor(
    private readonly runner: QueueRunner<T>,
    private readonly maxLength: number,
    private readonly maxBytes = Infinity,
    // Finite by default: tasks that settle at once run on one stack (each unblock runs the next),
    // so an unbounded run of them overflowed it at ~4,700 tasks. Sessions pass messagesPerTurn (32).
    private readonly perTurn = 1024,
    private readonly lowWater = -1,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /**
   * Returns false (and drops the item) when the queue is full or closed.
   * `bounded: false` skips the bounds (never the close): for the server's own
   * tasks, which a client filling its queue must not crowd out.
   */
  push(item: T, size = 0, bounded = true): boolean {
    if (this.closed) return false;
    // An item that finds the queue empty is bounded by the frame limit alone.
    if (bounded && (this.length >= this.maxLength || (this.length > 0 && this.queuedBytes + size > this.maxBytes))) return false;
    this.items.push(item);
    this.sizes.push(size);
    this.queuedBytes += size;
    if (!this.running) {
      this.running = true;
      this.next();
    }
    return true;
  }

  close(): void {
    this.closed = true;
    this.reset();
  }

  private reset(): void {
    this.items.length = 0;
    this.sizes.length = 0;
    this.queuedBytes = 0;
    this.head = 0;
  }

  /** @internal runs the next item; also where a yielded queue resumes */
  next(): void {
    if (this.closed || this.head >= this.items.length) {
      this.reset();
      this.running = false;
      this.ranSinceYield = 0;
      return;
    }
    if (++this.ranSinceYield > this.perTurn) {
      this.ranSinceYield = 0;
      setImmediate(resume, this);
      return;
    }
    this.queuedBytes -= this.sizes[this.head]!;
    const item = this.items[this.head++] as T;
    if (this.length === this.lowWater) this.runner.onLowWater?.();
    // A client that never lets the queue drain must not grow the arrays with
    // items already run: drop the consumed prefix once it is half of them.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
    let blocked = true;
    const unblock = () => {
      if (!blocked) return;
      blocked = false;
      this.next();
    };
    let result: unknown;
    try {
      result = this.runner.runTask(item, unblock);
    } catch (error) {
      this.reportTaskError(error, item);
      unblock();
      return;
    }
    if (result instanceof Promise) {
      result.catch((error) => this.reportTaskError(error, item)).finally(unblock);
    } else {
      unblock();
    }
  }

  /**
   * A throwing error handler must not stall the session (the synchronous
   * path would skip `unblock`) nor become an unhandled rejection (the
   * asynchronous path, which ends the process): its throw is swallowed.
   */
  private reportTaskError(error: unknown, item: T): void {
    try {
      this.runner.onTaskError(error, item);
    } catch {
      // Nothing else to tell: the handler was the way to report.
    }
  }
}

function resume(queue: SessionQueue<unknown>): void {
  queue.next();
}
