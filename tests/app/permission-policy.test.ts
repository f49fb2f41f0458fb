import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HostConnection } from '../../imports/app/host';
import { defaultPeoplePolicy, type PolicyContext, secretsEqual, tokenPolicy, type ViewerRole } from '../../imports/app/permission-policy';

const connection: HostConnection = { id: 'session-1', clientAddress: '192.0.2.1', httpHeaders: {}, onClose() {} };

function context(params: unknown[], userId: string | null = null): PolicyContext {
  return { connection, userId, params };
}

const TOKEN = 's3cret-token';

describe('tokenPolicy', () => {
  const cases: { name: string; params: unknown[]; expected: ViewerRole }[] = [
    { name: 'the right token', params: [{ token: TOKEN }], expected: 'monitor' },
    { name: 'the right token with other keys', params: [{ token: TOKEN, limit: 10 }], expected: 'monitor' },
    { name: 'the right token followed by more parameters', params: [{ token: TOKEN }, 'more'], expected: 'monitor' },
    { name: 'a wrong token', params: [{ token: 'wrong' }], expected: 'self' },
    { name: 'a prefix of the token', params: [{ token: TOKEN.slice(0, -1) }], expected: 'self' },
    { name: 'the token plus a character', params: [{ token: TOKEN + 'x' }], expected: 'self' },
    { name: 'the token in another case', params: [{ token: TOKEN.toUpperCase() }], expected: 'self' },
    { name: 'an empty token', params: [{ token: '' }], expected: 'self' },
    { name: 'an oversize token (1025 characters)', params: [{ token: 'x'.repeat(1025) }], expected: 'self' },
    { name: 'a non-string token', params: [{ token: 42 }], expected: 'self' },
    { name: 'a token array', params: [{ token: [TOKEN] }], expected: 'self' },
    { name: 'a token object', params: [{ token: { toString: () => TOKEN } }], expected: 'self' },
    { name: 'no parameters', params: [], expected: 'self' },
    { name: 'null', params: [null], expected: 'self' },
    { name: 'undefined', params: [undefined], expected: 'self' },
    { name: 'the bare token string (not an object)', params: [TOKEN], expected: 'self' },
    { name: 'a number', params: [1], expected: 'self' },
    { name: 'an array holding the token', params: [[TOKEN]], expected: 'self' },
    { name: 'an object without token', params: [{ secret: TOKEN }], expected: 'self' },
    { name: 'the right token in the second parameter', params: [{}, { token: TOKEN }], expected: 'self' },
  ];
  for (const { name, params, expected } of cases) {
    test(`${name} → ${expected}`, async () => {
      assert.equal(await tokenPolicy(TOKEN)(context(params)), expected);
    });
  }

  test('answers synchronously (no promise to wait for)', () => {
    assert.equal(tokenPolicy(TOKEN)(context([{ token: TOKEN }])), 'monitor');
  });

  test('the userId plays no part', async () => {
    assert.equal(await tokenPolicy(TOKEN)(context([], 'user-1')), 'self');
    assert.equal(await tokenPolicy(TOKEN)(context([{ token: TOKEN }], null)), 'monitor');
  });

  test('a token of exactly 1024 characters is accepted', async () => {
    const long = 'k'.repeat(1024);
    assert.equal(await tokenPolicy(long)(context([{ token: long }])), 'monitor');
  });

  test('a configured token over 1024 characters can never be offered', async () => {
    const tooLong = 'k'.repeat(1025);
    assert.equal(await tokenPolicy(tooLong)(context([{ token: tooLong }])), 'self');
  });

  for (const configured of [undefined, '']) {
    test(`no token configured (${JSON.stringify(configured)}): always self, whatever is offered`, async () => {
      const policy = tokenPolicy(configured);
      for (const params of [[], [{ token: '' }], [{ token: 'anything' }], [{ token: 'undefined' }], [null], ['']]) {
        assert.equal(await policy(context(params)), 'self', JSON.stringify(params));
      }
    });
  }
});

describe('secretsEqual', () => {
  const cases: [offered: string, expected: string, equal: boolean][] = [
    ['abc', 'abc', true],
    ['', '', true],
    ['abc', 'abd', false],
    ['abc', 'abcd', false],
    ['', 'abc', false],
    ['abc', '', false],
    ['ABC', 'abc', false],
    ['caf\u00e9', 'caf\u00e9', true],
    ['caf\u00e9', 'cafe\u0301', false], // no Unicode normalisation: bytes are compared
    ['x'.repeat(10_000), 'x'.repeat(10_000), true],
  ];
  for (const [offered, expected, equal] of cases) {
    test(`${JSON.stringify(offered.slice(0, 12))} vs ${JSON.stringify(expected.slice(0, 12))} (lengths ${offered.length}/${expected.length}) → ${equal}`, () => {
      assert.equal(secretsEqual(offered, expected), equal);
    });
  }
});

describe('defaultPeoplePolicy', () => {
  const cases: { role: ViewerRole; userId: string | null; expected: boolean }[] = [
    { role: 'monitor', userId: null, expected: true },
    { role: 'monitor', userId: 'user-1', expected: true },
    { role: 'self', userId: 'user-1', expected: true },
    { role: 'self', userId: null, expected: false },
  ];
  for (const { role, userId, expected } of cases) {
    test(`role ${role}, userId ${JSON.stringify(userId)} → ${expected}`, async () => {
      assert.equal(await defaultPeoplePolicy({ ...context([]), userId, role }), expected);
    });
  }
});
