/**
 * How fast one client address may send: a token bucket of bytes per address
 * (resolved through HTTP_FORWARDED_COUNT, as the per-address caps are).
 *
 * Why: every other bound is per socket or per session, but an attacker
 * opens more of those. Parsing what an address sends costs CPU and
 * short-lived memory in proportion to its bytes; capping the bytes per
 * second caps both, whatever the number of sockets. Over budget, the
 * address's WebSockets stop being read until the bucket refills (TCP
 * backpressure: nothing is lost or closed), its new WebSockets get 503 and
 * its SockJS HTTP posts 429, both with Retry-After.
 * Example: `budget.charge('10.0.0.7', frame.length) // ms to wait, 0 = fine`.
 * Caveat: users behind one NAT share a budget; presence traffic is a few
 * bytes per client per second, so the default leaves room for thousands.
 */
interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Buckets kept before idle (full) ones are swept. */
const SWEEP_ABOVE = 10_000;

export class InboundBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly bytesPerSecond: number,
    private readonly burstBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.bytesPerSecond > 0;
  }

  /** Take `bytes` from the address's bucket; returns how many ms until it is no longer overdrawn. */
  charge(address: string, bytes: number): number {
    if (!this.enabled) return 0;
    const bucket = this.refill(address);
    bucket.tokens -= bytes;
    return this.waitOf(bucket);
  }

  /** How many ms until the address may send again (0: now). */
  waitFor(address: string): number {
    if (!this.enabled) return 0;
    const bucket = this.buckets.get(address);
    return bucket ? this.waitOf(this.refill(address)) : 0;
  }

  private waitOf(bucket: Bucket): number {
    return bucket.tokens >= 0 ? 0 : Math.ceil((-bucket.tokens / this.bytesPerSecond) * 1000);
  }

  private refill(address: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(address);
    if (!bucket) {
      if (this.buckets.size >= SWEEP_ABOVE) this.sweep(now);
      bucket = { tokens: this.burstBytes, updatedAt: now };
      this.buckets.set(address, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(this.burstBytes, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.bytesPerSecond);
    bucket.updatedAt = now;
    return bucket;
  }

  /** A full bucket is the same as none: drop those so memory follows the addresses sending right now. */
  private sweep(now: number): void {
    for (const [address, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.bytesPerSecond >= this.burstBytes) this.buckets.delete(address);
    }
  }
}
