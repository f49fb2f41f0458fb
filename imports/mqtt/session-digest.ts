/**
 * An order-independent digest of a set of session ids: their count and the
 * XOR of a 64-bit hash of each (two FNV-1a 32-bit lanes with different
 * offsets). Adding and removing are O(1) and the same operation, so an
 * instance keeps its own digest current with every connect and close, and a
 * receiver keeps one per remote instance from the records it holds.
 *
 * Why XOR: two views of the same set agree whatever order their messages
 * arrived in. A collision needs two different sets with the same count and
 * the same 64-bit XOR: not something a dropped message produces.
 * Example: `d.add('abc'); d.value() // {count: 1, hash: '…'}`.
 */
export interface DigestValue {
  count: number;
  /** 16 hex digits. */
  hash: string;
}

export class SessionDigest {
  private count = 0;
  private high = 0;
  private low = 0;

  add(sessionId: string): void {
    this.count++;
    this.toggle(sessionId);
  }

  remove(sessionId: string): void {
    this.count--;
    this.toggle(sessionId);
  }

  value(): DigestValue {
    return { count: this.count, hash: hex8(this.high) + hex8(this.low) };
  }

  equals(other: DigestValue): boolean {
    const mine = this.value();
    return mine.count === other.count && mine.hash === other.hash;
  }

  private toggle(sessionId: string): void {
    this.high = (this.high ^ fnv1a(sessionId, 0x811c9dc5)) >>> 0;
    this.low = (this.low ^ fnv1a(sessionId, 0x050c5d1f)) >>> 0;
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
