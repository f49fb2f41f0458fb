import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoreCollection } from '../../imports/store/collection';

type Row = { _id: string; group: string; n: number; secret?: string; idle?: boolean; at?: Date; accountId?: string };

/**
 * The behaviour every store must have (memory, mongo): one suite, run
 * against each implementation (the aedes-persistence abstract-suite idea).
 */
export function collectionContract(makeCollection: () => Promise<StoreCollection<Row>>): void {
  const fresh = async () => {
    const c = await makeCollection();
    await c.insertAsync({ _id: 'a', group: 'x', n: 1, secret: 's' });
    await c.insertAsync({ _id: 'b', group: 'x', n: 2 });
    await c.insertAsync({ _id: 'c', group: 'y', n: 3 });
    return c;
  };

  test('find with a selector, fetch and count', async () => {
    const c = await fresh();
    assert.deepEqual((await c.find({ group: 'x' }).fetchAsync()).map((d) => d._id).sort(), ['a', 'b']);
    assert.equal(await c.find({ n: { $gte: 2 } }).countAsync(), 2);
    assert.equal(await c.find().countAsync(), 3);
  });

  test('fields: exclusion and inclusion', async () => {
    const c = await fresh();
    assert.deepEqual(await c.find({ _id: 'a' }, { fields: { secret: 0 } }).fetchAsync(), [{ _id: 'a', group: 'x', n: 1 }]);
    assert.deepEqual(await c.find({ _id: 'a' }, { fields: { n: 1 } }).fetchAsync(), [{ _id: 'a', n: 1 }]);
  });

  test('a duplicate _id is refused and changes nothing', async () => {
    const c = await fresh();
    await assert.rejects(c.insertAsync({ _id: 'a', group: 'z', n: 9 }));
    assert.equal((await c.findOneAsync({ _id: 'a' }))?.group, 'x');
  });

  test('update and remove by selector return counts', async () => {
    const c = await fresh();
    assert.equal(await c.updateAsync({ group: 'x' }, { $set: { n: 0 } }), 2);
    assert.equal(await c.find({ n: 0 }).countAsync(), 2);
    assert.equal(await c.removeAsync({ group: 'x' }), 2);
    assert.equal(await c.find().countAsync(), 1);
  });

  test('observeChanges: initial adds, then live added/changed/removed with projection', async () => {
    const c = await fresh();
    const events: unknown[] = [];
    const handle = c.find({ group: 'x' }, { fields: { secret: 0 } }).observeChanges({
      added: (id, f) => events.push(['added', id, f]),
      changed: (id, f) => events.push(['changed', id, f]),
      removed: (id) => events.push(['removed', id]),
    });
    await c.insertAsync({ _id: 'd', group: 'x', n: 4 });
    await c.updateAsync({ _id: 'd' }, { $set: { n: 5, secret: 'hidden change' } });
    await c.updateAsync({ _id: 'd' }, { $set: { secret: 'only hidden' } });
    await c.updateAsync({ _id: 'b' }, { $set: { group: 'y' } });
    await c.removeAsync({ _id: 'a' });
    handle.stop();
    await c.insertAsync({ _id: 'e', group: 'x', n: 6 });
    assert.deepEqual(events, [
      ['added', 'a', { group: 'x', n: 1 }],
      ['added', 'b', { group: 'x', n: 2 }],
      ['added', 'd', { group: 'x', n: 4 }],
      ['changed', 'd', { n: 5 }],
      ['removed', 'b'],
      ['removed', 'a'],
    ]);
  });

  test('observeChanges with nonMutatingCallbacks reports exactly what it reports without', async () => {
    const c = await fresh();
    const run = (options?: { nonMutatingCallbacks: boolean }) => {
      const events: unknown[] = [];
      const handle = c.find({ group: 'x' }, { fields: { secret: 0 } }).observeChanges(
        {
          added: (id, f) => events.push(['added', id, { ...f }]),
          changed: (id, f) => events.push(['changed', id, { ...f }]),
          removed: (id) => events.push(['removed', id]),
        },
        options,
      );
      return { events, handle };
    };
    const copying = run();
    const sharing = run({ nonMutatingCallbacks: true });
    await c.insertAsync({ _id: 'd', group: 'x', n: 4 });
    await c.updateAsync({ _id: 'd' }, { $set: { n: 5 }, $unset: { secret: 1 } });
    await c.removeAsync({ _id: 'a' });
    copying.handle.stop();
    sharing.handle.stop();
    assert.ok(copying.events.length >= 4);
    assert.deepEqual(sharing.events, copying.events);
  });

  test('$set and $unset of top-level fields (a login, an idle change): the document, and a changed event with the new values and the removed field undefined, told inside the write', async () => {
    const c = await fresh();
    await c.insertAsync({ _id: 'p', group: 'x', n: 1, idle: true, at: new Date(1000) });
    const events: unknown[] = [];
    const handle = c.find({ _id: 'p' }).observeChanges({ changed: (id, fields) => events.push([id, fields]) });
    const write = c.updateAsync({ _id: 'p' }, { $set: { accountId: 'alice', at: new Date(2000) }, $unset: { idle: '' } });
    // The contract `updated` relies on: observers hear a write before its promise settles.
    assert.deepEqual(events, [['p', { accountId: 'alice', at: new Date(2000), idle: undefined }]]);
    assert.equal(await write, 1);
    assert.deepEqual(await c.findOneAsync({ _id: 'p' }), { _id: 'p', group: 'x', n: 1, at: new Date(2000), accountId: 'alice' });
    assert.equal(await c.updateAsync({ _id: 'missing' }, { $set: { n: 2 } }), 0);
    handle.stop();
  });

  test('an {_id} observer sees only its document', async () => {
    const c = await fresh();
    const events: unknown[] = [];
    const handle = c.find({ _id: 'z' }).observeChanges({
      added: (id) => events.push(['added', id]),
      removed: (id) => events.push(['removed', id]),
    });
    await c.insertAsync({ _id: 'y', group: 'q', n: 0 });
    await c.insertAsync({ _id: 'z', group: 'q', n: 0 });
    await c.removeAsync({ group: 'q' });
    handle.stop();
    assert.deepEqual(events, [['added', 'z'], ['removed', 'z']]);
  });

  test('written documents are copies: mutating the input afterwards changes nothing', async () => {
    const c = await makeCollection();
    const doc = { _id: 'm', group: 'g', n: 1 };
    await c.insertAsync(doc);
    doc.n = 99;
    assert.equal((await c.findOneAsync({ _id: 'm' }))?.n, 1);
  });
}
