import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseListOptions, recordMatcher, selectsEverything, type ListOptions } from '../../imports/app/list-options';

describe('list options: parse and validate a monitor\'s { search, instanceId, sort, limit }', () => {
  const accepted: Array<[unknown, ListOptions]> = [
    [undefined, { sort: 'newest' }],
    [null, { sort: 'newest' }],
    [{ token: 't' }, { sort: 'newest' }],
    [{ token: 't', extra: 1 }, { sort: 'newest' }],
    [{ search: '' }, { sort: 'newest' }],
    [{ search: 'ChRoMe' }, { sort: 'newest', search: 'chrome' }],
    [{ instanceId: 'i1', sort: 'oldest' }, { sort: 'oldest', instanceId: 'i1' }],
    [{ limit: 1 }, { sort: 'newest', limit: 1 }],
    [{ limit: 1000, sort: 'newest' }, { sort: 'newest', limit: 1000 }],
    [{ search: 'x'.repeat(200) }, { sort: 'newest', search: 'x'.repeat(200) }],
  ];
  for (const [param, options] of accepted) {
    test(`accepts ${JSON.stringify(param)?.slice(0, 60)}`, () => assert.deepEqual(parseListOptions(param), { ok: true, options }));
  }

  const refused: unknown[] = [
    'garbage', 42, [], { search: 42 }, { search: 'x'.repeat(201) }, { instanceId: '' }, { instanceId: 7 },
    { sort: 'random' }, { limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { limit: '10' }, { limit: Number.NaN },
  ];
  for (const param of refused) {
    test(`refuses ${JSON.stringify(param)?.slice(0, 60)}`, () => {
      const parsed = parseListOptions(param);
      assert.equal(parsed.ok, false);
      assert.equal(typeof (parsed as { reason: string }).reason, 'string');
    });
  }
});

describe('list options: the record matcher', () => {
  const fields = { instanceId: 'Inst-1', clientAddress: '10.0.0.7', userAgent: 'Mozilla/5.0 Chrome/120' };
  const table: Array<[Partial<ListOptions>, boolean]> = [
    [{}, true],
    [{ search: 'abcd' }, true], // the session id
    [{ search: '0.0.7' }, true], // client address
    [{ search: 'chrome/1' }, true], // user agent, case-folded
    [{ search: 'inst-' }, true], // instance id
    [{ search: 'firefox' }, false],
    [{ instanceId: 'Inst-1' }, true],
    [{ instanceId: 'inst-1' }, false], // exact, not folded
    [{ instanceId: 'Inst-1', search: 'firefox' }, false],
  ];
  for (const [options, expected] of table) {
    test(`${JSON.stringify(options)} → ${expected}`, () => {
      assert.equal(recordMatcher({ sort: 'newest', ...options })('xxABCDyy', fields), expected);
    });
  }

  test('selectsEverything only without search and instance filter', () => {
    assert.equal(selectsEverything({ sort: 'oldest', limit: 5 }), true);
    assert.equal(selectsEverything({ sort: 'oldest', search: 'a' }), false);
    assert.equal(selectsEverything({ sort: 'oldest', instanceId: 'a' }), false);
  });
});
