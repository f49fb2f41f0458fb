/**
 * An order-independent digest of a set of session ids (count plus the XOR of
 * two FNV-1a 32-bit lanes per id), for the convergence scenario: each server
 * keeps one of its presence view, each load worker one of the connections it
 * holds, and a view is exact when its digest equals the workers' combined.
 * Kept apart from imports/mqtt/session-digest.ts on purpose: the benchmark
 * judges the bridge, so it does not borrow the bridge's arithmetic.
 * Example: `const d = new ViewDigest(); d.add('a'); d.value() // {count: 1, hash: '…'}`.
 */
export interface ViewDigestValue {
  count: number;
  /** 16 hex digits. */
  hash: string;
}

export class ViewDigest {
  private count = 0;
  private high = 0;
  private low = 0;

  add(id: string): void {
    this.count++;
    this.toggle(id);
  }

  remove(id: string): void {
    this.count--;
    this.toggle(id);
  }

  value(): ViewDigestValue {
    return { count: this.count, hash: hex8(this.high) + hex8(this.low) };
  }

  /** The digest of the union of disjoint sets (the workers' connections). */
  static combine(values: readonly ViewDigestValue[]): ViewDigestValue {
    let count = 0;
    let high = 0;
    let low = 0;
    for (const v of values) {
      count += v.count;
      high = (high ^ parseInt(v.hash.slice(0, 8), 16)) >>> 0;
      low = (low ^ parseInt(v.hash.slice(8), 16)) >>> 0;
    }
    return { count, hash: hex8(high) + hex8(low) };
  }

  private toggle(id: string): void {
    this.high = (this.high ^ fnv1a(id, 0x811c9dc5)) >>> 0;
    this.low = (this.low ^ fnv1a(id, 0x2f6b7d3d)) >>> 0;
  }
}

function fnv1a(text: string, offset: number): number {
  let hash = offset;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
