import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryCollection } from '../../imports/store/memory-collection';
import { collectionContract } from './collection-contract';

describe('MemoryCollection meets the collection contract', () => {
  let n = 0;
  collectionContract(async () => new MemoryCollection(`memory${n++}`));
});

describe('MemoryCollection: copies and shared values', () => {
  type Row = { _id: string; at: Date; tags: string[] };
  const fresh = async () => {
    const c = new MemoryCollection<Row>('shares');
    await c.insertAsync({ _id: 'a', at: new Date(1000), tags: ['x'] });
    return c;
  };
  const firstAdded = (c: MemoryCollection<Row>, options?: { nonMutatingCallbacks: boolean }) => {
    let fields: Record<string, unknown> | undefined;
    c.find({}).observeChanges({ added: (_id, f) => void (fields ??= f) }, options).stop();
    return fields!;
  };

  test('by default each observer gets its own deep copy, which it may change freely', async () => {
    const c = await fresh();
    const mine = firstAdded(c);
    assert.notEqual(mine.at, firstAdded(c).at);
    (mine.at as Date).setTime(0);
    (mine.tags as string[]).push('mutated');
    const later = firstAdded(c);
    assert.equal((later.at as Date).getTime(), 1000);
    assert.deepEqual(later.tags, ['x']);
  });

  test('with nonMutatingCallbacks, observers share the stored values (no copy per record: the presence view keeps these)', async () => {
    const c = await fresh();
    const one = firstAdded(c, { nonMutatingCallbacks: true });
    const two = firstAdded(c, { nonMutatingCallbacks: true });
    assert.notEqual(one, two, 'a new top-level object each time (without _id)');
    assert.equal(one.at, two.at, 'the same Date');
    assert.equal(one.tags, two.tags);
    assert.equal('_id' in one, false);
  });

  test('an update stores a new document: values shared before it are left as they were', async () => {
    const c = await fresh();
    const before = firstAdded(c, { nonMutatingCallbacks: true });
    const changes: Array<Record<string, unknown>> = [];
    const handle = c.find({}).observeChanges({ changed: (_id, f) => void changes.push(f) }, { nonMutatingCallbacks: true });
    await c.updateAsync({ _id: 'a' }, { $set: { at: new Date(2000) }, $push: { tags: 'y' } });
    handle.stop();
    assert.equal((before.at as Date).getTime(), 1000);
    assert.deepEqual(before.tags, ['x']);
    assert.equal((changes[0]!.at as Date).getTime(), 2000);
    assert.deepEqual(changes[0]!.tags, ['x', 'y']);
  });
});
