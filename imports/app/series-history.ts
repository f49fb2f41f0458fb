/**
 * A fixed-length history of per-second samples (connections, connects,
 * disconnects) for one series of `presence.stats`: a ring of typed arrays, so
 * 15 minutes at 1 s cost ~11 KB per series whatever the churn.
 *
 * Example:
 *   const h = new SeriesHistory(900);
 *   h.push({ at: 1700000000000, connections: 5, connects: 2, disconnects: 0 });
 *   h.toArrays(); // { endAt: 1700000000000, connections: [5], connects: [2], disconnects: [0] }
 *
 * Caveats: counts are stored as 32-bit unsigned integers (a negative or
 * fractional value would be mangled; callers only push counts). Samples are
 * assumed one step apart: a gap (a stalled timer) is not filled in.
 */
export interface StatsSample {
  /** When the second ended, ms since the epoch. */
  at: number;
  connections: number;
  connects: number;
  disconnects: number;
}

export interface HistoryArrays {
  /** `at` of the last sample (0 when empty); sample i ended at endAt − (length − 1 − i) × step. */
  endAt: number;
  connections: number[];
  connects: number[];
  disconnects: number[];
}

export class SeriesHistory {
  private readonly connections: Uint32Array;
  private readonly connects: Uint32Array;
  private readonly disconnects: Uint32Array;
  /** Index of the oldest sample. */
  private start = 0;
  private length = 0;
  private lastAt = 0;

  constructor(readonly capacity: number) {
    this.connections = new Uint32Array(capacity);
    this.connects = new Uint32Array(capacity);
    this.disconnects = new Uint32Array(capacity);
  }

  get size(): number {
    return this.length;
  }

  push(sample: StatsSample): void {
    const index = (this.start + this.length) % this.capacity;
    this.connections[index] = sample.connections;
    this.connects[index] = sample.connects;
    this.disconnects[index] = sample.disconnects;
    if (this.length < this.capacity) this.length++;
    else this.start = (this.start + 1) % this.capacity;
    this.lastAt = sample.at;
  }

  /** True when every sample held is all zeros (nothing happened for the whole window). */
  isIdle(): boolean {
    for (let i = 0; i < this.length; i++) {
      const at = (this.start + i) % this.capacity;
      if (this.connections[at] || this.connects[at] || this.disconnects[at]) return false;
    }
    return true;
  }

  /** Oldest first, as plain arrays (what goes on the wire). */
  toArrays(): HistoryArrays {
    const read = (ring: Uint32Array) => Array.from({ length: this.length }, (_, i) => ring[(this.start + i) % this.capacity]!);
    return { endAt: this.lastAt, connections: read(this.connections), connects: read(this.connects), disconnects: read(this.disconnects) };
  }
}
