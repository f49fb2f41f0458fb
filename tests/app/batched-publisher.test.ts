import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchedPublisher } from '../../imports/app/batched-publisher';

/** A subscription double that records what would go on the wire, as short strings. */
function fakeSub() {
  const frames: string[] = [];
  const sub = {
    added: (_c: string, id: string, fields: Record<string, unknown>) => void frames.push(`added ${id} ${JSON.stringify(fields)}`),
    changed: (_c: string, id: string, fields: Record<string, unknown>) => void frames.push(`changed ${id} ${JSON.stringify(fields)}`),
    removed: (_c: string, id: string) => void frames.push(`removed ${id}`),
    ready: () => void frames.push('ready'),
  };
  return { sub, frames };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('BatchedPublisher: the initial set in batches that yield, then ready, live all along', () => {
  test('sends batchSize documents per turn of the event loop, then ready', async () => {
    const { sub, frames } = fakeSub();
    const out = new BatchedPublisher(sub, 'c', 2);
    for (const id of ['a', 'b', 'c', 'd', 'e']) out.queue(id, { n: 1 } as never);
    assert.deepEqual(frames, [], 'nothing before goLive');
    out.goLive();
    assert.deepEqual(frames, ['added a {"n":1}', 'added b {"n":1}']);
    await nextTurn();
    assert.equal(frames.length, 4);
    await nextTurn();
    assert.deepEqual(frames.slice(4), ['added e {"n":1}', 'ready']);
  });

  test('an empty initial set is ready at once', () => {
    const { sub, frames } = fakeSub();
    new BatchedPublisher(sub, 'c', 2).goLive();
    assert.deepEqual(frames, ['ready']);
  });

  test('changes during the batches: no changed/removed before added, nothing after removal', async () => {
    const { sub, frames } = fakeSub();
    const out = new BatchedPublisher(sub, 'c', 2);
    for (const id of ['a', 'b', 'c', 'd', 'e']) out.queue(id, { v: 0, w: 0 } as never);
    out.goLive(); // a, b sent
    out.removed('c'); // not sent yet: dropped silently
    out.changed('d', { v: 1, w: undefined } as never); // not sent yet: folded in
    out.changed('a', { v: 2 } as never); // sent: goes out at once
    out.removed('b'); // sent: goes out at once
    out.added('f', { v: 3 } as never); // live: at once
    await nextTurn();
    await nextTurn();
    assert.deepEqual(frames, [
      'added a {"v":0,"w":0}', 'added b {"v":0,"w":0}',
      'changed a {"v":2}', 'removed b', 'added f {"v":3}',
      'added d {"v":1}', 'added e {"v":0,"w":0}',
      'ready',
    ]);
  });

  test('other work runs between batches (a bystander is not starved)', async () => {
    const { sub, frames } = fakeSub();
    const out = new BatchedPublisher(sub, 'c', 100);
    for (let i = 0; i < 1000; i++) out.queue(`r${i}`, {} as never);
    out.goLive();
    setImmediate(() => frames.push('bystander'));
    while (!frames.includes('ready')) await nextTurn();
    const at = frames.indexOf('bystander');
    assert.ok(at > 0 && at < frames.indexOf('ready'), `bystander at ${at} of ${frames.length}`);
    assert.ok(at <= 200, 'within the first two batches');
  });

  test('stop drops the backlog: nothing more is sent, no ready', async () => {
    const { sub, frames } = fakeSub();
    const out = new BatchedPublisher(sub, 'c', 2);
    for (const id of ['a', 'b', 'c', 'd']) out.queue(id, {} as never);
    out.goLive();
    out.stop();
    out.added('x', {} as never);
    out.removed('a');
    await nextTurn();
    await nextTurn();
    assert.deepEqual(frames, ['added a {}', 'added b {}']);
    assert.equal(out.backlog, 0);
  });
});
