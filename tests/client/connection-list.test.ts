import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionList } from '../../client/dashboard/connection-list';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const ids = (list: ConnectionList) => list.ordered().map((r) => r._id);

test('newest first by connectedAt, ties by _id; oldest is exactly the reverse', () => {
  const list = new ConnectionList();
  list.added('b', { connectedAt: at(1) });
  list.added('a', { connectedAt: at(1) });
  list.added('c', { connectedAt: at(2) });
  list.added('z', { connectedAt: at(0) });
  assert.deepEqual(ids(list), ['c', 'b', 'a', 'z']);
  list.setSort('oldest');
  assert.deepEqual(ids(list), ['z', 'a', 'b', 'c']);
});

test('a change makes a new record object (rows compare by identity); cleared fields go; unknown ids are ignored', () => {
  let changes = 0;
  const list = new ConnectionList(() => changes++);
  list.added('a', { connectedAt: at(1), userAgent: 'x', clientAddress: '10.0.0.1' });
  const before = list.get('a');
  const orderBefore = list.ordered();
  list.changed('a', { userAgent: 'y' }, ['clientAddress']);
  const after = list.get('a')!;
  assert.notEqual(after, before);
  assert.deepEqual(after, { _id: 'a', connectedAt: at(1), userAgent: 'y' });
  assert.equal(list.ordered()[0], after, 'the cached order holds the new object');
  assert.equal(list.ordered(), orderBefore, 'not re-sorted: the sort key did not move');
  list.changed('ghost', { userAgent: 'late' }, []);
  list.removed('ghost');
  assert.equal(list.size, 1);
  assert.equal(changes, 2, 'one notification per real change');
});

test('a change of connectedAt re-sorts; removed and clear empty it', () => {
  const list = new ConnectionList();
  list.added('a', { connectedAt: at(1) });
  list.added('b', { connectedAt: at(2) });
  list.changed('a', { connectedAt: at(3) }, []);
  assert.deepEqual(ids(list), ['a', 'b']);
  list.removed('a');
  assert.deepEqual(ids(list), ['b']);
  list.clear();
  assert.deepEqual(ids(list), []);
});
