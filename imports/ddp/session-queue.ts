/**
 * Per-session serial queue (Meteor's processMessage/processNext).
 *
 * Messages run one at a time in arrival order. A task holds the queue until it
 * settles or calls `unblock()`; a rejected or throwing task only unblocks, it
 * never stops the queue. `maxLength` bounds what a flooding client can pile up.
 */
export interface QueueRunner<T> {
  /** Run one item; return a promise to hold the queue until it settles. */
  runTask(item: T, unblock: () => void): unknown;
  onTaskError(error: unknown, item: T): void;
}

export class SessionQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private running = false;
  private closed = false;

  /** The runner is an object, not two closures: one queue per session, so every byte counts. */
  constructor(
    private readonly runner: QueueRunner<T>,
    private readonly maxLength: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Returns false (and drops the item) when the queue is full or closed. */
  push(item: T): boolean {
    if (this.closed || this.length >= this.maxLength) return false;
    this.items.push(item);
    if (!this.running) {
      this.running = true;
      this.next();
    }
    return true;
  }

  close(): void {
    this.closed = true;
    this.items.length = 0;
    this.head = 0;
  }

  private next(): void {
    if (this.closed || this.head >= this.items.length) {
      this.items.length = 0;
      this.head = 0;
      this.running = false;
      return;
    }
    const item = this.items[this.head++] as T;
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
      this.runner.onTaskError(error, item);
      unblock();
      return;
    }
    if (result instanceof Promise) {
      result.catch((error) => this.runner.onTaskError(error, item)).finally(unblock);
    } else {
      unblock();
    }
  }
}
