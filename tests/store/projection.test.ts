import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Projection } from '../../imports/store/collection';
import { compileProjection } from '../../imports/store/projection';

/**
 * compileProjection: Meteor's top-level `fields` option, returning fields
 * without `_id` (as observeChanges reports them).
 */

const doc = { _id: 'id1', a: 1, b: 'two', c: { nested: true }, d: null };

describe('compileProjection', () => {
  const cases: { name: string; projection: Projection | undefined; expected: Record<string, unknown> }[] = [
    { name: 'no projection', projection: undefined, expected: { a: 1, b: 'two', c: { nested: true }, d: null } },
    { name: 'an empty projection', projection: {}, expected: { a: 1, b: 'two', c: { nested: true }, d: null } },
    { name: 'only _id excluded', projection: { _id: 0 }, expected: { a: 1, b: 'two', c: { nested: true }, d: null } },
    { name: 'inclusion', projection: { a: 1, c: 1 }, expected: { a: 1, c: { nested: true } } },
    { name: 'inclusion with true', projection: { b: true }, expected: { b: 'two' } },
    { name: 'inclusion of a field set to null', projection: { d: 1 }, expected: { d: null } },
    { name: 'inclusion of a field the document lacks', projection: { a: 1, missing: 1 }, expected: { a: 1 } },
    { name: 'inclusion with _id excluded', projection: { a: 1, _id: 0 }, expected: { a: 1 } },
    { name: 'inclusion with _id included', projection: { a: 1, _id: 1 }, expected: { a: 1 } },
    { name: 'exclusion', projection: { a: 0, c: 0 }, expected: { b: 'two', d: null } },
    { name: 'exclusion with false', projection: { b: false }, expected: { a: 1, c: { nested: true }, d: null } },
    { name: 'exclusion of a field the document lacks', projection: { missing: 0 }, expected: { a: 1, b: 'two', c: { nested: true }, d: null } },
    { name: 'exclusion with _id excluded', projection: { a: 0, _id: 0 }, expected: { b: 'two', c: { nested: true }, d: null } },
  ];
  for (const { name, projection, expected } of cases) {
    test(`${name}: ${JSON.stringify(projection)} → ${JSON.stringify(expected)} (never _id)`, () => {
      const filter = compileProjection(projection);
      assert.deepEqual(filter({ ...doc }), expected);
    });
  }

  const refused: { name: string; projection: Projection; message: RegExp }[] = [
    { name: 'mixed inclusion and exclusion', projection: { a: 1, b: 0 }, message: /cannot mix inclusion and exclusion/ },
    { name: 'mixed, with booleans', projection: { a: true, b: false }, message: /cannot mix inclusion and exclusion/ },
    { name: 'a dotted path (inclusion)', projection: { 'c.nested': 1 }, message: /Nested projection 'c\.nested' is not supported/ },
    { name: 'a dotted path (exclusion)', projection: { a: 0, 'c.nested': 0 }, message: /Nested projection 'c\.nested'/ },
    { name: 'a dotted path under _id', projection: { '_id.x': 0 }, message: /Nested projection '_id\.x'/ },
  ];
  for (const { name, projection, message } of refused) {
    test(`refused when compiled, before any document: ${name}`, () => {
      assert.throws(() => compileProjection(projection), message);
    });
  }

  test('returns a new object and leaves the document untouched (values are shared, not copied)', () => {
    for (const projection of [undefined, { a: 1, c: 1 }, { b: 0 }] as (Projection | undefined)[]) {
      const input = { _id: 'id1', a: 1, b: 'two', c: { nested: true } };
      const before = structuredClone(input);
      const out = compileProjection(projection)(input);
      assert.notEqual(out, input);
      assert.deepEqual(input, before);
      assert.equal(out.c, input.c);
    }
  });

  test('one compiled filter serves many documents', () => {
    const filter = compileProjection({ a: 1 });
    assert.deepEqual(
      [{ _id: '1', a: 1 }, { _id: '2', b: 2 }, { _id: '3', a: undefined }].map(filter),
      [{ a: 1 }, {}, { a: undefined }],
    );
  });

  // Minimongo (projectionDetails) treats `_id` as a normal field when it is
  // the only key or is included: `{ _id: 1 }` returns only `_id` (so no
  // fields for observeChanges), and `{ _id: 1, a: 0 }` is a mix and throws.
  test('{ _id: 1 } alone selects no fields, as in Minimongo', () => {
    assert.deepEqual(compileProjection({ _id: 1 })({ ...doc }), {});
  });

  test('{ _id: 1, a: 0 } is refused as a mix, as in Minimongo', () => {
    assert.throws(() => compileProjection({ _id: 1, a: 0 }), /cannot mix/);
  });

  test('an inclusion copies only own fields, never inherited ones', () => {
    assert.deepEqual(compileProjection({ toString: 1 as const })({ _id: 'x', a: 1 }), {});
  });
});
