import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StringInterner } from '../../imports/mqtt/string-interner';

/*
 * JS cannot tell two equal strings apart, so sharing is checked through what
 * the interner holds: a string already held is found (no new entry), and the
 * copy returned is then the held one by construction.
 */

/** An equal string that is a separate copy in the heap (as each parsed message brings). */
const copyOf = (text: string) => Buffer.from(text, 'utf8').toString('utf8');

describe('StringInterner', () => {
  test('an equal string is found, not added again', () => {
    const interner = new StringInterner(10);
    const ua = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131';
    assert.equal(interner.intern(ua), ua);
    assert.equal(interner.intern(copyOf(ua)), ua);
    assert.equal(interner.size, 1, 'one entry for one distinct string');
  });

  test('different strings stay different', () => {
    const interner = new StringInterner(10);
    assert.deepEqual(['a', 'b', '', 'a'].map((s) => interner.intern(s)), ['a', 'b', '', 'a']);
    assert.equal(interner.size, 3);
  });

  test('a flood of distinct strings never holds more than 2 × maxEntries', () => {
    const max = 100;
    const interner = new StringInterner(max);
    let most = 0;
    for (let i = 0; i < 50_000; i++) {
      const text = `hostile-user-agent-${i}`;
      assert.equal(interner.intern(text), text);
      most = Math.max(most, interner.size);
    }
    assert.ok(most <= 2 * max, `held ${most} at most`);
  });

  test('a string in use survives a flood: each use carries it into the newest generation', () => {
    const interner = new StringInterner(10);
    const popular = 'Chrome/131';
    interner.intern(popular);
    for (let i = 0; i < 1_000; i++) {
      interner.intern(`one-off-${i}`);
      assert.ok(interner.has(popular), `forgotten after ${i + 1} one-off strings`);
      if (i % 9 === 0) interner.intern(copyOf(popular)); // used at least once per generation
    }
  });

  test('a string not used for two turns is forgotten, and shared anew from its next use', () => {
    const interner = new StringInterner(2);
    interner.intern('x');
    for (const filler of ['f1', 'f2', 'f3', 'f4']) interner.intern(filler);
    assert.equal(interner.has('x'), false);
    assert.equal(interner.intern('x'), 'x');
    assert.equal(interner.has('x'), true);
  });

  test('maxEntries must be a positive integer', () => {
    assert.throws(() => new StringInterner(0), /positive integer/);
    assert.throws(() => new StringInterner(1.5), /positive integer/);
  });
});
