import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import EJSON from 'ejson';
import { RecordCompactor, type HeldRecord, type RecordRun, type RemoteDocument } from '../../imports/mqtt/compact-record';
import { RemoteState } from '../../imports/mqtt/remote-state';

const RUN: RecordRun = { instanceId: 'inst-B', epoch: 1_700_000_000_000 };
const AT = new Date('2026-11-26T10:00:00.123Z');

/** A presence record as the bridge receives it (parsed from its payload: every string its own copy). */
function received(doc: Record<string, unknown>): RemoteDocument {
  return EJSON.parse(EJSON.stringify(doc as never)) as RemoteDocument;
}

const full = { _id: 'sess1', userId: 'sess1', connectedAt: AT, clientAddress: '10.0.0.7', userAgent: 'Mozilla/5.0 Chrome/131', instanceId: 'inst-B' };
const { clientAddress: _a, ...withoutAddress } = full;
const { userAgent: _u, ...withoutUserAgent } = full;
const { clientAddress: _a2, userAgent: _u2, ...bare } = full;

/** The document back, checked field by field, type by type and in key order. */
function assertRoundTrip(doc: RemoteDocument, back: RemoteDocument): void {
  assert.deepEqual(Object.keys(back), Object.keys(doc), 'same keys, same order');
  assert.ok(EJSON.equals(back as never, doc as never), `${EJSON.stringify(back as never)} ≠ ${EJSON.stringify(doc as never)}`);
  assert.equal(EJSON.stringify(back as never), EJSON.stringify(doc as never), 'the same bytes on the wire');
}

describe('RecordCompactor: presence records round-trip', () => {
  const shapes: Array<[string, Record<string, unknown>]> = [
    ['every field', full],
    ['no clientAddress', withoutAddress],
    ['no userAgent', withoutUserAgent],
    ['neither optional field', bare],
    ['a userId other than the session id', { ...full, userId: 'someone-else' }],
    ['empty strings', { ...full, clientAddress: '', userAgent: '' }],
    ['connectedAt at the epoch of time', { ...full, connectedAt: new Date(0) }],
  ];
  for (const [name, shape] of shapes) {
    test(name, () => {
      const doc = received(shape);
      const held = new RecordCompactor(16).hold(doc, RUN);
      assertRoundTrip(doc, held.toDocument());
      const { _id, ...fields } = doc;
      assert.deepEqual(held.toFields(), fields);
      assert.equal(held._id, doc._id);
      assert.equal(held.instanceId, RUN.instanceId);
      assert.equal(held.epoch, RUN.epoch);
    });
  }

  test('an absent field stays absent (not present as undefined)', () => {
    const held = new RecordCompactor(16).hold(received(bare), RUN);
    assert.equal('clientAddress' in held.toFields(), false);
    assert.equal('userAgent' in held.toDocument(), false);
  });

  test('each call makes a fresh document: changing one changes nothing held', () => {
    const held = new RecordCompactor(16).hold(received(full), RUN);
    const first = held.toFields();
    (first.connectedAt as Date).setTime(0);
    first.userAgent = 'changed';
    const second = held.toFields();
    assert.notEqual(second, first);
    assert.equal((second.connectedAt as Date).getTime(), AT.getTime());
    assert.equal(second.userAgent, full.userAgent);
  });
});

describe('RecordCompactor: person fields (issue 14) are held compactly too', () => {
  const LOGIN = new Date('2026-11-26T10:05:00.456Z');
  const person = { accountId: 'alice', loggedInAt: LOGIN, lastActivity: LOGIN };
  const shapes: Array<[string, Record<string, unknown>]> = [
    ['logged in', { ...full, ...person }],
    ['logged in, then idle', { ...full, ...person, idle: true }],
    ['idle first, then logged in (another key order)', { ...full, idle: true, lastActivity: LOGIN, accountId: 'alice', loggedInAt: LOGIN }],
    ['anonymous and idle', { ...bare, idle: true, lastActivity: LOGIN }],
  ];
  for (const [name, shape] of shapes) {
    test(name, () => {
      const doc = received(shape);
      const held = new RecordCompactor(16).hold(doc, RUN);
      assert.equal(held.constructor.name, 'CompactRecord', 'compacted, not held as the document');
      const { _id, ...fields } = doc;
      assert.ok(EJSON.equals(held.toFields() as never, fields as never), `${EJSON.stringify(held.toFields() as never)} ≠ ${EJSON.stringify(fields as never)}`);
      assert.ok(held.isSameAs(received(shape) as RemoteDocument, RUN.epoch), 'the same record again is the same');
      assert.ok(!held.isSameAs(received({ ...shape, accountId: 'bob' }) as RemoteDocument, RUN.epoch), 'another account is not');
      assert.ok(!held.isSameAs(received({ ...shape, idle: false }) as RemoteDocument, RUN.epoch), 'another idle state is not');
    });
  }

  test('a person field of the wrong type, or before instanceId, is held as the document it is', () => {
    for (const shape of [{ ...full, accountId: 7 }, { ...full, idle: 'yes' }, { _id: 's', userId: 's', connectedAt: AT, accountId: 'a', instanceId: 'inst-B' }]) {
      const held = new RecordCompactor(16).hold(received(shape), RUN);
      assert.equal(held.constructor.name, 'PlainRecord');
    }
  });
});

describe('RecordCompactor: anything else is held as the document it is', () => {
  const others: Array<[string, Record<string, unknown>]> = [
    ['an extra field', { ...full, version: 2 }],
    ['another key order', { userId: 'sess1', _id: 'sess1', connectedAt: AT, instanceId: 'inst-B' }],
    ['connectedAt as a string', { ...full, connectedAt: AT.toISOString() }],
    ['connectedAt as a number', { ...full, connectedAt: AT.getTime() }],
    ['a number for a user agent', { ...full, userAgent: 42 }],
    ['an optional field set to null', { ...full, clientAddress: null }],
    ['no userId', { _id: 'sess1', connectedAt: AT, instanceId: 'inst-B' }],
    ['another instance in the record than the run', { ...full, instanceId: 'inst-C' }],
    ['a test record', { _id: 's1', instanceId: 'inst-B', version: 1 }],
  ];
  for (const [name, shape] of others) {
    test(name, () => {
      // Not through EJSON here: an invalid Date or key order must reach the compactor as given.
      const doc = { ...shape } as RemoteDocument;
      const held = new RecordCompactor(16).hold(doc, RUN);
      assertRoundTrip(doc, held.toDocument());
      assert.equal(held._id, doc._id);
      assert.equal(held.instanceId, doc.instanceId, "a plain record's instance is its own field");
      assert.equal(held.epoch, RUN.epoch);
      assert.equal(held.isSameAs({ ...doc }, RUN.epoch), true);
    });
  }

  test('an invalid Date', () => {
    const doc = { ...full, connectedAt: new Date(NaN) } as RemoteDocument;
    const back = new RecordCompactor(16).hold(doc, RUN).toDocument();
    assert.deepEqual(Object.keys(back), Object.keys(doc));
    assert.ok(back.connectedAt instanceof Date && Number.isNaN(back.connectedAt.getTime()));
  });

  test('an optional field present as undefined is not compacted away', () => {
    const doc = { ...full, userAgent: undefined } as unknown as RemoteDocument;
    const held = new RecordCompactor(16).hold(doc, RUN);
    assert.equal('userAgent' in held.toDocument(), true);
  });
});

describe('RecordCompactor: isSameAs (a resync re-announces every record)', () => {
  const held = new RecordCompactor(16).hold(received(full), RUN);
  test('the same record of the same run is the same', () => {
    assert.equal(held.isSameAs(received(full), RUN.epoch), true);
  });
  test('another run is not', () => {
    assert.equal(held.isSameAs(received(full), RUN.epoch + 1), false);
  });
  const changes: Array<[string, Record<string, unknown>]> = [
    ['userId', { ...full, userId: 'x' }],
    ['connectedAt', { ...full, connectedAt: new Date(AT.getTime() + 1) }],
    ['clientAddress', { ...full, clientAddress: '10.0.0.8' }],
    ['userAgent', { ...full, userAgent: 'other' }],
    ['a field gone', withoutAddress],
    ['a field more', { ...full, version: 2 }],
    ['connectedAt as a string', { ...full, connectedAt: AT.toISOString() }],
  ];
  for (const [name, doc] of changes) {
    test(`a change of ${name} is not`, () => assert.equal(held.isSameAs({ ...doc } as RemoteDocument, RUN.epoch), false));
  }
});

describe('RecordCompactor: interning', () => {
  test('records share their user agents and addresses: one entry per distinct string', () => {
    const compactor = new RecordCompactor(100);
    const agents = ['Chrome/131', 'Firefox/133', 'Safari/18'];
    for (let i = 0; i < 1_000; i++) {
      compactor.hold(received({ ...full, _id: `s${i}`, userId: `s${i}`, userAgent: agents[i % 3], clientAddress: '10.0.0.1' }), RUN);
    }
    assert.equal(compactor.internedStrings, 4);
  });

  test('a hostile flood of distinct user agents costs at most twice the cap, and every record stays exact', () => {
    const max = 50;
    const compactor = new RecordCompactor(max);
    const held = [];
    for (let i = 0; i < 10_000; i++) {
      const doc = received({ ...full, _id: `s${i}`, userId: `s${i}`, userAgent: `evil-${i}-${'x'.repeat(100)}` });
      held.push(compactor.hold(doc, RUN));
      assert.ok(compactor.internedStrings <= 2 * max);
    }
    assert.equal(held[1234]!.toFields().userAgent, `evil-1234-${'x'.repeat(100)}`);
  });
});

describe('RemoteState holds presence records compactly', () => {
  const doc = (userAgent = 'Chrome/131') => received({ ...full, userAgent });

  test('shown records round-trip; a resync re-announcing the same record changes nothing; a changed one is hidden and shown anew', () => {
    const state = new RemoteState();
    const now = RUN.epoch + 1_000;
    state.status(RUN.instanceId, { state: 'online', epoch: RUN.epoch }, now);
    const [show] = state.record(RUN.instanceId, { record: doc(), epoch: RUN.epoch }, now);
    assert.equal(show?.op, 'show');
    const held = (show as { record: HeldRecord }).record;
    assertRoundTrip(doc(), held.toDocument());
    assert.deepEqual([...state.shownRecords()], [held], 'the very object the view was handed');
    assert.deepEqual(state.record(RUN.instanceId, { record: doc(), epoch: RUN.epoch }, now), []);
    const ops = state.record(RUN.instanceId, { record: doc('Firefox/133'), epoch: RUN.epoch }, now);
    assert.deepEqual(ops.map((o) => o.op), ['hide', 'show']);
    assert.equal([...state.shownRecords()][0]!.toFields().userAgent, 'Firefox/133');
  });

  test("a record's epoch and instance id are its run's: a newer run's record is held apart and shown when that run comes online", () => {
    const state = new RemoteState();
    const now = RUN.epoch + 1_000;
    const hold = (sessionId: string, epoch: number) =>
      state.record(RUN.instanceId, { record: received({ ...full, _id: sessionId, userId: sessionId }), epoch }, now);
    hold('s1', RUN.epoch);
    hold('s2', RUN.epoch);
    hold('s3', RUN.epoch + 500);
    state.status(RUN.instanceId, { state: 'online', epoch: RUN.epoch + 500 }, now);
    assert.deepEqual([...state.shownRecords()].map((r) => [r._id, r.epoch, r.instanceId]), [['s3', RUN.epoch + 500, RUN.instanceId]]);
  });
});
