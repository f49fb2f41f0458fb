/**
 * When an attack must stop: at its time limit, or earlier when the scenario
 * says so (the server died). Every wait inside an attack goes through it,
 * so an attack returns promptly even while its sockets hang.
 */
export class Deadline {
  private readonly endsAt: number;
  private stopped = false;
  private readonly wakers = new Set<() => void>();

  constructor(ms: number) {
    this.endsAt = performance.now() + ms;
  }

  get done(): boolean {
    return this.stopped || performance.now() >= this.endsAt;
  }

  get remainingMs(): number {
    return this.stopped ? 0 : Math.max(0, this.endsAt - performance.now());
  }

  stop(): void {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    this.wakers.clear();
  }

  /** Resolves after `ms`, or at the deadline, whichever comes first. */
  sleep(ms: number): Promise<void> {
    return this.race(new Promise<void>((r) => setTimeout(r, ms)), undefined).then(() => undefined);
  }

  /** `promise`'s value, or `fallback` if the deadline (or `capMs`) comes first. */
  race<T, F>(promise: Promise<T>, fallback: F, capMs = Infinity): Promise<T | F> {
    if (this.done) return Promise.resolve(fallback);
    return new Promise<T | F>((resolve) => {
      const finish = (value: T | F) => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve(value);
      };
      const wake = () => finish(fallback);
      const timer = setTimeout(wake, Math.min(capMs, this.remainingMs));
      this.wakers.add(wake);
      promise.then(finish, () => finish(fallback));
    });
  }
}
