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
    box.added('N3', 'c', 'd', { b: 1 });
    assert.deepEqual(out.at(-1), ['added', 'd', { b: 1 }], 'the document had left the box: it is added anew');
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

describe('MergeBox.sendDiff (Meteor _diffCollectionViews, for userId reruns)', () => {
  const silent = { sendAdded() {}, sendChanged() {}, sendRemoved() {} };
  function recordingOut() {
    const out: Array<[string, string, string, Fields?]> = [];
    return {
      out,
      sink: {
        sendAdded: (c: string, id: string, f: Fields) => out.push(['added', c, id, f]),
        sendChanged: (c: string, id: string, f: Fields) => out.push(['changed', c, id, f]),
        sendRemoved: (c: string, id: string) => out.push(['removed', c, id]),
      },
    };
  }

  test('only the difference goes out, in Meteor order: per old collection changed/removed, then its new documents; then new collections', () => {
    const before = new MergeBox(silent);
    before.added('N1', 'c', 'same', { a: 1, b: { deep: [1] } });
    before.added('N1', 'c', 'edit', { a: 1, gone: true, keep: 'k' });
    before.added('N1', 'c', 'old', { a: 1 });
    before.added('N1', 'lost', 'x', {});
    const after = new MergeBox(silent);
    after.added('N1', 'fresh', 'f', { z: 1 });
    after.added('N1', 'c', 'new', { a: 2 });
    after.added('N1', 'c', 'edit', { a: 2, keep: 'k', extra: 3 });
    after.added('N1', 'c', 'same', { b: { deep: [1] }, a: 1 });
    const { out, sink } = recordingOut();
    MergeBox.sendDiff(before, after, sink);
    assert.deepEqual(out, [
      ['changed', 'c', 'edit', { a: 2, gone: undefined, extra: 3 }],
      ['removed', 'c', 'old'],
      ['added', 'c', 'new', { a: 2 }],
      ['removed', 'lost', 'x'],
      ['added', 'fresh', 'f', { z: 1 }],
    ]);
  });

  test('the diff compares what the client sees: the leading provider of each field', () => {
    const before = new MergeBox(silent);
    before.added('N1', 'c', 'd', { a: 1 });
    before.added('N2', 'c', 'd', { a: 2 });
    const after = new MergeBox(silent);
    after.added('N2', 'c', 'd', { a: 2 });
    after.added('N1', 'c', 'd', { a: 1 });
    const { out, sink } = recordingOut();
    MergeBox.sendDiff(before, after, sink);
    assert.deepEqual(out, [['changed', 'c', 'd', { a: 2 }]]);
  });

  test('a missing box is an empty view', () => {
    const box = new MergeBox(silent);
    box.added('N1', 'c', 'd', { a: 1 });
    const { out, sink } = recordingOut();
    MergeBox.sendDiff(null, null, sink);
    MergeBox.sendDiff(null, box, sink);
    MergeBox.sendDiff(box, null, sink);
    assert.deepEqual(out, [['added', 'c', 'd', { a: 1 }], ['removed', 'c', 'd']]);
  });
});
