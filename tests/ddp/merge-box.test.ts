import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MergeBox, type Fields } from '../../imports/ddp/merge-box';

function recordingBox() {
  const out: Array<[string, string, Fields?]> = [];
  const box = new MergeBox({
    sendAdded: (_c, id, f) => out.push(['added', id, f]),
    sendChanged: (_c, id, f) => out.push(['changed', id, f]),
    sendRemoved: (_c, id) => out.push(['removed', id]),
  });
  return { box, out };
}

describe('MergeBox (Meteor SessionCollectionView semantics)', () => {
  test('first subscription to set a field wins; later values wait behind it', () => {
    const { box, out } = recordingBox();
    box.added('N1', 'c', 'd', { a: 1 });
    box.added('N2', 'c', 'd', { a: 2, b: 3 });
    assert.deepEqual(out, [['added', 'd', { a: 1 }], ['changed', 'd', { b: 3 }]]);
  });

  test('a change by a non-leading provider is not sent; by the leader it is', () => {
    const { box, out } = recordingBox();
    box.added('N1', 'c', 'd', { a: 1 });
    box.added('N2', 'c', 'd', { a: 2 });
    box.changed('N2', 'c', 'd', { a: 5 });
    box.changed('N1', 'c', 'd', { a: 7 });
    assert.deepEqual(out.slice(1), [['changed', 'd', { a: 7 }]]);
  });

  test('clearing a field falls back to the next provider or clears it', () => {
    const { box, out } = recordingBox();
    box.added('N1', 'c', 'd', { a: 1, only: true });
    box.added('N2', 'c', 'd', { a: 2 });
    box.changed('N1', 'c', 'd', { a: undefined, only: undefined });
    assert.deepEqual(out.slice(1), [['changed', 'd', { a: 2, only: undefined }]]);
  });

  test('identical values from several providers do not produce a change when one leaves', () => {
    const { box, out } = recordingBox();
    box.added('N1', 'c', 'd', { a: { deep: [1] } });
    box.added('N2', 'c', 'd', { a: { deep: [1] } });
    box.removed('N1', 'c', 'd');
    assert.deepEqual(out, [['added', 'd', { a: { deep: [1] } }]]);
    box.removed('N2', 'c', 'd');
    assert.deepEqual(out.at(-1), ['removed', 'd']);
    assert.equal(box.documentCount, 0);
  });

  test('_id is never a field', () => {
    const { box, out } = recordingBox();
    box.added('N1', 'c', 'd', { _id: 'd', a: 1 });
    assert.deepEqual(out, [['added', 'd', { a: 1 }]]);
  });

  test('values are copied, so later mutation by the publisher does not leak', () => {
    const { box, out } = recordingBox();
    const value = { list: [1] };
    box.added('N1', 'c', 'd', { value });
    value.list.push(2);
    box.changed('N1', 'c', 'd', { value });
    assert.deepEqual(out.at(-1), ['changed', 'd', { value: { list: [1, 2] } }]);
  });

  test('errors on changing or removing unknown documents, as Meteor', () => {
    const { box } = recordingBox();
    assert.throws(() => box.changed('N1', 'c', 'x', { a: 1 }), /Could not find element/);
    assert.throws(() => box.removed('N1', 'c', 'x'), /Removed nonexistent document/);
  });

  test('hundreds of subscriptions on one field: precedence kept, only the visible value goes out', () => {
    const { box, out } = recordingBox();
    for (let i = 0; i < 500; i++) box.added(`N${i}`, 'c', 'total', { count: i === 0 ? 1 : 2 });
    for (let i = 0; i < 500; i++) box.changed(`N${i}`, 'c', 'total', { count: 3 });
    assert.deepEqual(out, [['added', 'total', { count: 1 }], ['changed', 'total', { count: 3 }]]);
    box.changed('N1', 'c', 'total', { count: 9 });
    box.removed('N0', 'c', 'total');
    assert.deepEqual(out.slice(2), [['changed', 'total', { count: 9 }]], 'the next provider in order becomes visible');
    for (let i = 1; i < 500; i++) box.removed(`N${i}`, 'c', 'total');
    assert.deepEqual(out.at(-1), ['removed', 'total']);
  });
});
