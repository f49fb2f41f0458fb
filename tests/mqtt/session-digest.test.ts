import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionDigest, type DigestValue } from '../../imports/mqtt/session-digest';

/** A digest after a sequence of `+id` (add) and `-id` (remove) steps. */
function digestOf(...steps: string[]): SessionDigest {
  const d = new SessionDigest();
  for (const step of steps) {
    const id = step.slice(1);
    if (step[0] === '+') d.add(id);
    else if (step[0] === '-') d.remove(id);
    else throw new Error(`step must start with + or -: ${step}`);
  }
  return d;
}

const EMPTY: DigestValue = { count: 0, hash: '0000000000000000' };

describe('SessionDigest', () => {
  test('an empty digest is count 0 and an all-zero hash', () => {
    assert.deepEqual(new SessionDigest().value(), EMPTY);
    assert.ok(new SessionDigest().equals(EMPTY));
  });

  describe('order independence: the same set gives the same value, whatever the order', () => {
    const rows: Array<{ name: string; a: string[]; b: string[] }> = [
      { name: 'two ids, swapped', a: ['+s1', '+s2'], b: ['+s2', '+s1'] },
      { name: 'three ids, rotated', a: ['+a', '+b', '+c'], b: ['+c', '+a', '+b'] },
      { name: 'a removal in the middle or at the end', a: ['+a', '+b', '-a', '+c'], b: ['+b', '+c'] },
      { name: 'remove and re-add', a: ['+a', '-a', '+a'], b: ['+a'] },
      { name: 'many ids, reversed', a: ids(200).map((id) => `+${id}`), b: ids(200).reverse().map((id) => `+${id}`) },
    ];
    for (const row of rows) {
      test(row.name, () => {
        const a = digestOf(...row.a);
        const b = digestOf(...row.b);
        assert.deepEqual(a.value(), b.value());
        assert.ok(a.equals(b.value()));
        assert.ok(b.equals(a.value()));
      });
    }
  });

  describe('add/remove symmetry: removing what was added restores the earlier value', () => {
    const rows: Array<{ name: string; before: string[]; toggled: string[] }> = [
      { name: 'from empty, one id', before: [], toggled: ['x'] },
      { name: 'from empty, many ids', before: [], toggled: ids(50) },
      { name: 'on top of other ids', before: ['+a', '+b'], toggled: ['c', 'd'] },
      { name: 'the empty string and non-ASCII ids', before: ['+a'], toggled: ['', 'é', '😀', 'Ω-ß'] },
    ];
    for (const row of rows) {
      test(row.name, () => {
        const d = digestOf(...row.before);
        const start = d.value();
        for (const id of row.toggled) d.add(id);
        assert.equal(d.value().count, start.count + row.toggled.length);
        assert.notDeepEqual(d.value(), start);
        for (const id of [...row.toggled].reverse()) d.remove(id);
        assert.deepEqual(d.value(), start);
      });
    }
  });

  describe('equals', () => {
    const ab = digestOf('+a', '+b');
    const rows: Array<{ name: string; other: DigestValue; equal: boolean }> = [
      { name: 'the same set', other: digestOf('+b', '+a').value(), equal: true },
      { name: 'a plain object with the same fields', other: { ...ab.value() }, equal: true },
      { name: 'one id missing', other: digestOf('+a').value(), equal: false },
      { name: 'one id too many', other: digestOf('+a', '+b', '+c').value(), equal: false },
      { name: 'a different id, same count', other: digestOf('+a', '+c').value(), equal: false },
      { name: 'the same hash, another count', other: { count: 3, hash: ab.value().hash }, equal: false },
      { name: 'the same count, another hash', other: { count: 2, hash: '0123456789abcdef' }, equal: false },
      { name: 'empty', other: EMPTY, equal: false },
    ];
    for (const row of rows) test(row.name, () => assert.equal(ab.equals(row.other), row.equal));
  });

  test('the hash is 16 lowercase hex digits, zero-padded', () => {
    for (const id of ['a', 'b', 'session-1', ...ids(100)]) assert.match(digestOf(`+${id}`).value().hash, /^[0-9a-f]{16}$/);
  });

  test('different single ids give different hashes', () => {
    const seen = new Set(ids(1000).map((id) => digestOf(`+${id}`).value().hash));
    assert.equal(seen.size, 1000);
  });

  test('the high lane is standard FNV-1a 32 (the wire value is stable across versions)', () => {
    // Published FNV-1a 32-bit test vectors: "" -> 811c9dc5, "a" -> e40c292c, "foobar" -> bf9cf968.
    assert.deepEqual(digestOf('+').value(), { count: 1, hash: '811c9dc5050c5d1f' });
    assert.deepEqual(digestOf('+a').value(), { count: 1, hash: 'e40c292c70772d5a' });
    assert.deepEqual(digestOf('+foobar').value(), { count: 1, hash: 'bf9cf968ffe8d046' });
    // Two ids: the XOR of each lane.
    assert.deepEqual(digestOf('+a', '+foobar').value(), { count: 2, hash: '5b90d0448f9ffd1c' });
  });

  test('a duplicate add is not idempotent: callers add each id once (the count tells it apart)', () => {
    const twice = digestOf('+a', '+a');
    assert.deepEqual(twice.value(), { count: 2, hash: EMPTY.hash });
    assert.ok(!twice.equals(EMPTY));
  });
});

function ids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `sess-${i.toString(36)}-${(i * 2654435761) >>> 0}`);
}
