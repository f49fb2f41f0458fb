import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeopleList } from '../../client/dashboard/people-list';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const ids = (people: PeopleList) => people.ordered().map((p) => p._id);
const person = (status: string, since: number, connections = 1) => ({ status, since: at(since), lastActivity: at(since), connections });

test('by status: online before idle, each by account id; by since: online longest first, ties by account id', () => {
  const people = new PeopleList();
  people.added('carol', person('idle', 1));
  people.added('bob', person('online', 5));
  people.added('alice', person('idle', 3));
  people.added('dave', person('online', 1));
  people.added('erin', person('online', 1));
  assert.equal(people.sortOrder, 'status');
  assert.deepEqual(ids(people), ['bob', 'dave', 'erin', 'alice', 'carol']);
  people.setSort('since');
  assert.deepEqual(ids(people), ['carol', 'dave', 'erin', 'alice', 'bob']);
});

test('a status change re-sorts by status; a connections or activity change keeps the order and swaps in the new object', () => {
  let changes = 0;
  const people = new PeopleList(() => changes++);
  people.added('alice', person('online', 1, 2));
  people.added('bob', person('online', 2));
  const before = people.ordered();
  people.changed('alice', { connections: 1, lastActivity: at(9) }, []);
  assert.equal(people.ordered(), before, 'not re-sorted');
  assert.equal(people.ordered()[0], people.get('alice'), 'the cached order holds the new object');
  assert.deepEqual(people.get('alice'), { _id: 'alice', status: 'online', since: at(1), lastActivity: at(9), connections: 1 });
  people.changed('alice', { status: 'idle' }, []);
  assert.deepEqual(ids(people), ['bob', 'alice']);
  assert.equal(changes, 4);
});

test('idleCount follows added, changed, removed and clear; a repeated added replaces the person', () => {
  const people = new PeopleList();
  people.added('alice', person('online', 1));
  people.added('bob', person('idle', 1));
  assert.equal(people.idleCount, 1);
  people.changed('alice', { status: 'idle' }, []);
  assert.equal(people.idleCount, 2);
  people.added('alice', person('online', 1));
  assert.equal(people.idleCount, 1, 'replaced, not counted twice');
  people.changed('bob', { status: 'online' }, []);
  assert.equal(people.idleCount, 0);
  people.changed('bob', { status: 'idle' }, []);
  people.removed('bob');
  assert.equal(people.idleCount, 0);
  assert.equal(people.size, 1);
  people.changed('alice', { status: 'idle' }, []);
  people.clear();
  assert.deepEqual([people.size, people.idleCount, ids(people)], [0, 0, []]);
});

test('late frames for unknown people are ignored; cleared fields go; missing or unknown fields sort last', () => {
  let changes = 0;
  const people = new PeopleList(() => changes++);
  people.changed('ghost', { status: 'idle' }, []);
  people.removed('ghost');
  assert.equal(changes, 0);
  people.added('zed', person('online', 1));
  people.added('amy', { connections: 1 });
  people.added('kim', { status: 'away', since: 'not a date' });
  assert.deepEqual(ids(people), ['zed', 'amy', 'kim']);
  people.setSort('since');
  assert.deepEqual(ids(people), ['zed', 'amy', 'kim']);
  people.changed('zed', {}, ['since']);
  assert.equal('since' in people.get('zed')!, false);
  assert.deepEqual(ids(people), ['amy', 'kim', 'zed']);
});
