import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import SimpleSchema from 'simpl-schema';
import { ConnectedUserSchema, RECORD_LIMITS } from '../../imports/app/connected-user-schema';
import { compileFlatSchemaCheck } from '../../imports/app/flat-schema-check';

const valid = { _id: 'abcdefghijkmnopqr', userId: 'abcdefghijkmnopqr', connectedAt: new Date(), clientAddress: '127.0.0.1', userAgent: 'ua', instanceId: 'i1' };

/** Every variant the check might mis-judge: missing, null, wrong type, too long, empty, extra keys. */
function variants(): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [['valid', valid], ['not an object', 'x'], ['array', [valid]], ['null', null]];
  const bad: unknown[] = [undefined, null, '', 5, true, {}, [], new Date(NaN), 'x'.repeat(RECORD_LIMITS.maxUserAgentLength + 1), 'y'.repeat(65), new Date(0), 'ok'];
  for (const key of Object.keys(valid)) {
    for (const [i, value] of bad.entries()) out.push([`${key}=#${i}`, { ...valid, [key]: value }]);
    const { [key as keyof typeof valid]: _omitted, ...rest } = valid;
    out.push([`without ${key}`, rest]);
  }
  out.push(['extra key', { ...valid, extra: 1 }]);
  return out;
}

describe('compiled flat schema check', () => {
  const check = compileFlatSchemaCheck(ConnectedUserSchema)!;

  test('compiles for the ConnectedUsers schema and accepts a valid record', () => {
    assert.ok(check);
    assert.equal(check(valid), true);
  });

  test('never says "valid" where simpl-schema would refuse', () => {
    let accepted = 0;
    for (const [name, doc] of variants()) {
      let schemaSaysValid = true;
      try {
        ConnectedUserSchema.validate(doc as object);
      } catch {
        schemaSaysValid = false;
      }
      if (check(doc)) {
        accepted++;
        assert.ok(schemaSaysValid, `${name}: check accepted what simpl-schema refuses`);
      }
    }
    assert.ok(accepted > 5, 'and it does accept the valid variants');
  });

  test('refuses to compile rules it does not understand', () => {
    assert.equal(compileFlatSchemaCheck(new SimpleSchema({ a: { type: String, regEx: /x/ } })), null);
    assert.equal(compileFlatSchemaCheck(new SimpleSchema({ a: { type: String, allowedValues: ['x'] } })), null);
    assert.equal(compileFlatSchemaCheck(new SimpleSchema({ a: Object, 'a.b': String })), null);
  });
});
