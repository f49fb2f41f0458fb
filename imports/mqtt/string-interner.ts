/**
 * Hands out one shared copy of equal strings, so that thousands of records
 * with the same user agent (or address, or instance id) hold one string, not
 * thousands: each parsed message brings its own copy, ~100 bytes of user agent
 * per record otherwise.
 *
 * Bounded against many distinct strings (every address different, or a
 * hostile peer inventing user agents): at most `maxEntries` strings per
 * generation, two generations. When the current one is full it becomes the
 * previous one and the one before is dropped; a string asked for again is
 * carried over into the current one, so the strings in use survive every turn
 * and a flood of one-off strings only ever costs 2 × `maxEntries` entries.
 *
 * Example: `const interner = new StringInterner(4096); interner.intern(ua) === interner.intern(ua.slice())`.
 *
 * Caveats: forgetting a string never breaks anything (a later copy simply
 * starts being shared anew), so records already holding it keep theirs. It
 * keeps the strings it holds alive until two turns after their last use.
 */
export class StringInterner {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();

  constructor(private readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error(`maxEntries must be a positive integer, not ${maxEntries}`);
  }

  /** Strings held now (both generations): at most 2 × maxEntries. */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Whether a copy of `value` is held (the next `intern` of an equal string returns it). */
  has(value: string): boolean {
    return this.current.has(value) || this.previous.has(value);
  }

  /** The shared copy of `value` (`value` itself the first time it is seen). */
  intern(value: string): string {
    const held = this.current.get(value);
    if (held !== undefined) return held;
    const shared = this.previous.get(value) ?? value;
    if (this.current.size >= this.maxEntries) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(shared, shared);
    return shared;
  }
}
