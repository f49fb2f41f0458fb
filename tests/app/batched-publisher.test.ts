import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchedPublisher, PacedStep, PublishScheduler, type PacedWork } from '../../imports/app/batched-publisher';
import type { ListOptions } from '../../imports/app/list-options';
import { publishMonitorList } from '../../imports/app/monitor-list-publication';
import type { PresenceFields, PresenceView } from '../../imports/app/presence-view';

/** A subscription double that records what would go on the wire, as short strings. */
function fakeSub(log: string[] = [], name = '') {
  const frames: string[] = [];
  const push = (frame: string) => {
    frames.push(frame);
    log.push(name ? `${name} ${frame}` : frame);
  };
  const sub = {
    added: (_c: string, id: string, fields: Record<string, unknown>) => push(`added ${id} ${JSON.stringify(fields)}`),
    changed: (_c: string, id: string, fields: Record<string, unknown>) => push(`changed ${id} ${JSON.stringify(fields)}`),
    removed: (_c: string, id: string) => push(`removed ${id}`),
    ready: () => push('ready'),
    error: (error: Error) => push(`error ${error.message}`),
  };
  return { sub, frames };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A scheduler with this document budget and no time limit, so a loaded test machine cannot change what a turn sends. */
const budget = (documentsPerTurn: number) => new PublishScheduler({ documentsPerTurn, maxTurnMs: Infinity });

/** A publisher with `count` documents `${name}0…`, live on `scheduler`. */
function publisherWith(scheduler: PublishScheduler, name: string, count: number, log: string[] = []) {
  const { sub, frames } = fakeSub(log, name);
  const out = new BatchedPublisher(sub, 'c', scheduler);
  for (let i = 0; i < count; i++) out.queue(`${name}${i}`, {} as never);
  out.goLive();
  const added = () => frames.filter((f) => f.startsWith('added')).length;
  return { out, frames, added };
}

describe('BatchedPublisher: the initial set paced by the scheduler, then ready, live all along', () => {
  test('nothing goes out before the next turn; then the budget per turn, then ready', async () => {
    const { sub, frames } = fakeSub();
    const out = new BatchedPublisher(sub, 'c', budget(2));
    for (const id of ['a', 'b', 'c', 'd', 'e']) out.queue(id, { n: 1 } as never);
    assert.deepEqual(frames, [], 'nothing before goLive');
    out.goLive();
    assert.deepEqual(frames, [], 'nor synchronously in goLive: the subscribing turn stays short');
    await nextTurn();
    assert.deepEqual(frames, ['added a {"n":1}', 'added b {"n":1}']);
    await nextTurn();
    assert.equal(frames.length, 4);
    await nextTurn();
    assert.deepEqual(frames.slice(4), ['added e {"n":1}', 'ready'], 'ready in the turn of the last document, after it');
    assert.equal(out.backlog, 0);
  });

  test('an empty initial set is ready at once', () => {
    const { sub, frames } = fakeSub();
    const scheduler = budget(2);
    new BatchedPublisher(sub, 'c', scheduler).goLive();
    assert.deepEqual(frames, ['ready']);
    assert.equal(scheduler.size, 0, 'never queued');
  });

  test('changes during the initial set: no changed/removed before added, nothing after removal', async () => {
    const { sub, frames } = fakeSub();
    const out = new BatchedPublisher(sub, 'c', budget(2));
    for (const id of ['a', 'b', 'c', 'd', 'e']) out.queue(id, { v: 0, w: 0 } as never);
    out.goLive();
    await nextTurn(); // a, b sent
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

  test('the last pending document removed live: ready at once, nothing more sent', async () => {
    const { sub, frames } = fakeSub();
    const scheduler = budget(2);
    const out = new BatchedPublisher(sub, 'c', scheduler);
    for (const id of ['a', 'b', 'c']) out.queue(id, {} as never);
    out.goLive();
    await nextTurn(); // a, b
    out.removed('c');
    assert.deepEqual(frames, ['added a {}', 'added b {}', 'ready']);
    assert.equal(scheduler.size, 0, 'left the scheduler');
    await nextTurn();
    assert.equal(frames.length, 3);
  });

  test('other work runs between turns (a bystander is not starved)', async () => {
    const { sub, frames } = fakeSub();
    const out = new BatchedPublisher(sub, 'c', budget(100));
    for (let i = 0; i < 1000; i++) out.queue(`r${i}`, {} as never);
    out.goLive();
    setImmediate(() => setImmediate(() => frames.push('bystander')));
    while (!frames.includes('ready')) await nextTurn();
    const at = frames.indexOf('bystander');
    assert.ok(at > 0 && at < frames.indexOf('ready'), `bystander at ${at} of ${frames.length}`);
    assert.ok(at <= 200, 'within the first two turns');
  });

  test('stop drops the backlog: nothing more is sent, no ready', async () => {
    const { sub, frames } = fakeSub();
    const scheduler = budget(2);
    const out = new BatchedPublisher(sub, 'c', scheduler);
    for (const id of ['a', 'b', 'c', 'd']) out.queue(id, {} as never);
    out.goLive();
    await nextTurn();
    out.stop();
    out.added('x', {} as never);
    out.removed('a');
    await nextTurn();
    await nextTurn();
    assert.deepEqual(frames, ['added a {}', 'added b {}']);
    assert.equal(out.backlog, 0);
    assert.equal(scheduler.size, 0);
  });
});

describe('PublishScheduler: one document budget per turn, shared round-robin by every subscription', () => {
  test('the budget per turn holds whatever the number of subscriptions', async () => {
    const scheduler = budget(30);
    const pubs = Array.from({ length: 7 }, (_, i) => publisherWith(scheduler, `p${i}-`, 50));
    const total = () => pubs.reduce((n, p) => n + p.added(), 0);
    let before = 0;
    let turns = 0;
    while (scheduler.size > 0) {
      await nextTurn();
      turns++;
      const now = total();
      assert.ok(now - before <= 30, `turn ${turns} sent ${now - before} documents`);
      before = now;
    }
    assert.equal(total(), 7 * 50, 'every document, once');
    assert.equal(turns, Math.ceil((7 * 50) / 30), 'and no turn wasted: the budget is used in full');
    for (const p of pubs) assert.equal(p.frames.at(-1), 'ready');
  });

  test('fair: each turn every waiting subscription gets its share, the first to subscribe no more', async () => {
    const scheduler = budget(40);
    const big = publisherWith(scheduler, 'big-', 1000);
    const small = Array.from({ length: 3 }, (_, i) => publisherWith(scheduler, `s${i}-`, 25));
    await nextTurn();
    assert.deepEqual([big.added(), ...small.map((s) => s.added())], [10, 10, 10, 10], 'an equal share of 40 each');
    await nextTurn();
    assert.deepEqual([big.added(), ...small.map((s) => s.added())], [20, 20, 20, 20]);
    await nextTurn();
    // The small ones finish with 5 each; what they leave goes to the next in line.
    assert.deepEqual(small.map((s) => s.added()), [25, 25, 25]);
    assert.equal(big.added(), 45, 'the rest of the budget');
    for (const s of small) assert.equal(s.frames.at(-1), 'ready', 'ready right after its last document');
    assert.equal(scheduler.size, 1);
  });

  test('more subscriptions than budget: one each, and the line rotates across turns', async () => {
    const scheduler = budget(2);
    const log: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) publisherWith(scheduler, name, 2, log);
    const turn = async () => {
      const from = log.length;
      await nextTurn();
      return log.slice(from).filter((f) => !f.endsWith('ready')).map((f) => f.split(' ')[0]);
    };
    assert.deepEqual(await turn(), ['a', 'b']);
    assert.deepEqual(await turn(), ['c', 'd']);
    assert.deepEqual(await turn(), ['e', 'a']);
    assert.deepEqual(await turn(), ['b', 'c']);
    assert.deepEqual(await turn(), ['d', 'e']);
    assert.equal(scheduler.size, 0);
    assert.equal(log.filter((f) => f.endsWith(' ready')).length, 5);
  });

  test('a stopped subscription leaves the line at once; its share goes to the others', async () => {
    const scheduler = budget(20);
    const a = publisherWith(scheduler, 'a', 100);
    const b = publisherWith(scheduler, 'b', 100);
    await nextTurn();
    assert.deepEqual([a.added(), b.added()], [10, 10]);
    a.out.stop();
    assert.equal(scheduler.size, 1);
    await nextTurn();
    assert.equal(a.added(), 10, 'nothing more for the stopped one');
    assert.equal(b.added(), 30, 'the whole budget for the other');
    b.out.stop();
    assert.equal(scheduler.size, 0);
    await nextTurn();
    assert.equal(b.added(), 30);
    assert.ok(!a.frames.includes('ready') && !b.frames.includes('ready'), 'no ready after stop');
  });

  test('a subscription stopped by its own frame (the session closed) is dropped mid-turn', async () => {
    const scheduler = budget(10);
    const { sub, frames } = fakeSub();
    let out!: BatchedPublisher;
    const closing = { ...sub, added: (c: string, id: string, f: Record<string, unknown>) => (sub.added(c, id, f), id === 'x1' && out.stop()) };
    out = new BatchedPublisher(closing, 'c', scheduler);
    for (let i = 0; i < 5; i++) out.queue(`x${i}`, {} as never);
    const other = publisherWith(scheduler, 'o', 5);
    out.goLive();
    await nextTurn();
    assert.deepEqual(frames, ['added x0 {}', 'added x1 {}']);
    assert.equal(other.added(), 5, 'the other got the rest of the budget');
    assert.equal(scheduler.size, 0);
  });

  test('a subscription whose send throws gets the error (nosub) and leaves; the others go on', async () => {
    const scheduler = budget(10);
    const { sub, frames } = fakeSub();
    const failing = { ...sub, added: () => { throw new Error('boom'); } };
    const out = new BatchedPublisher(failing, 'c', scheduler);
    out.queue('x', {} as never);
    out.goLive();
    const other = publisherWith(scheduler, 'o', 20);
    await nextTurn();
    assert.deepEqual(frames, ['error boom']);
    assert.equal(out.backlog, 0);
    assert.equal(other.added(), 9, 'the rest of the turn (the failed call counts as one)');
    while (scheduler.size > 0) await nextTurn();
    assert.equal(other.added(), 20);
    assert.equal(other.frames.at(-1), 'ready');
  });

  test('a publisher that sends nothing cannot spin a turn forever', async () => {
    const scheduler = budget(5);
    let calls = 0;
    const stuck: PacedWork = { finished: false, runSlice: () => (calls++, 0), fail: () => {} };
    scheduler.add(stuck);
    await nextTurn();
    assert.equal(calls, 5, 'each call counts as one of the budget');
    scheduler.remove(stuck);
  });

  test('a step that cannot be split (a start) is charged its cost: a big one ends its turn', async () => {
    const scheduler = budget(100);
    const log: string[] = [];
    const a = publisherWith(scheduler, 'a', 1000, log);
    for (const name of ['s1', 's2', 's3']) scheduler.add(new PacedStep(() => void log.push(`${name} start`), () => 5000, () => {}));
    const small = new PacedStep(() => void log.push('small start'), () => 10, () => {});
    scheduler.add(small);
    await nextTurn();
    // share 20: a sends 20, then s1 costs 5000 of the 80 left: the turn ends there.
    assert.equal(a.added(), 20);
    assert.deepEqual(log.filter((l) => l.endsWith('start')), ['s1 start']);
    await nextTurn();
    assert.deepEqual(log.filter((l) => l.endsWith('start')), ['s1 start', 's2 start'], 'one big start per turn');
    await nextTurn();
    await nextTurn();
    assert.deepEqual(log.filter((l) => l.endsWith('start')), ['s1 start', 's2 start', 's3 start', 'small start']);
    assert.equal(scheduler.size, 1, 'steps leave once run');
    a.out.stop();
  });

  test('a step that throws reports the error and leaves', async () => {
    const scheduler = budget(10);
    const errors: unknown[] = [];
    scheduler.add(new PacedStep(() => { throw new Error('bad start'); }, () => 1, (e) => void errors.push(e)));
    const other = publisherWith(scheduler, 'o', 3);
    await nextTurn();
    assert.equal((errors[0] as Error).message, 'bad start');
    assert.equal(other.frames.at(-1), 'ready');
    assert.equal(scheduler.size, 0);
  });

  test('a turn also ends at maxTurnMs (a slow turn: GC marking, a loaded machine); the line rotates', async () => {
    let clock = 0;
    const scheduler = new PublishScheduler({ documentsPerTurn: 100, maxTurnMs: 5, now: () => clock });
    const log: string[] = [];
    const slow = (name: string) => {
      const { sub, frames } = fakeSub(log, name);
      const out = new BatchedPublisher({ ...sub, added: (c, id, f) => ((clock += 1), sub.added(c, id, f)) }, 'c', scheduler);
      for (let i = 0; i < 50; i++) out.queue(`${name}${i}`, {} as never);
      out.goLive();
      return () => frames.filter((f) => f.startsWith('added')).length;
    };
    const a = slow('a');
    const b = slow('b');
    await nextTurn();
    assert.deepEqual([a(), b()], [5, 0], '1 ms a document: 5 in the turn, not the 100 of the budget');
    await nextTurn();
    assert.deepEqual([a(), b()], [5, 5], 'the next turn starts with the next in line');
    await nextTurn();
    assert.deepEqual([a(), b()], [10, 5]);
  });

  test('every turn makes progress, however slow a document is', async () => {
    let clock = 0;
    const scheduler = new PublishScheduler({ documentsPerTurn: 10, maxTurnMs: 1, now: () => clock });
    const { sub, frames } = fakeSub();
    const out = new BatchedPublisher({ ...sub, added: (c, id, f) => ((clock += 50), sub.added(c, id, f)) }, 'c', scheduler);
    for (const id of ['x', 'y']) out.queue(id, {} as never);
    out.goLive();
    await nextTurn();
    assert.deepEqual(frames, ['added x {}']);
    await nextTurn();
    assert.deepEqual(frames, ['added x {}', 'added y {}', 'ready']);
  });

  test('the budget must be a positive integer', () => {
    assert.throws(() => new PublishScheduler({ documentsPerTurn: 0 }), RangeError);
    assert.throws(() => new PublishScheduler({ documentsPerTurn: 1.5 }), RangeError);
    assert.throws(() => new PublishScheduler({ maxTurnMs: 0 }), RangeError);
  });
});

describe('publishMonitorList on the scheduler: the start waits for its turn too', () => {
  /** A view double: records in a Map; counts observe() calls (each one a replay of every record). */
  function fakeView(count: number) {
    const records = new Map(Array.from({ length: count }, (_, i) => [`r${i}`, { userId: `r${i}` } as PresenceFields]));
    let observed = 0;
    const view = {
      get count() {
        return records.size;
      },
      observe(callbacks: { added(id: string, fields: PresenceFields): void }) {
        observed++;
        for (const [id, fields] of records) callbacks.added(id, fields);
        return { stop: () => {} };
      },
      forEach: (visit: (id: string, fields: PresenceFields) => void) => {
        for (const [id, fields] of records) visit(id, fields);
      },
      get: (id: string) => (records.has(id) ? { _id: id, ...records.get(id)! } : undefined),
    };
    return { view: view as unknown as PresenceView, observed: () => observed };
  }

  function fakePublishThis() {
    const { sub, frames } = fakeSub();
    const stops: Array<() => void> = [];
    const host = { ...sub, connection: {} as never, userId: null, onStop: (cb: () => void) => void stops.push(cb) };
    return {
      host,
      frames,
      stop: () => {
        for (const cb of stops) cb();
      },
    };
  }

  test('nothing is read from the view in the subscribing turn; the set and ready follow', async () => {
    const scheduler = budget(100);
    const { view, observed } = fakeView(3);
    const { host, frames } = fakePublishThis();
    publishMonitorList(host, view, { sort: 'newest' } as ListOptions, 'c', scheduler);
    assert.equal(observed(), 0, 'not started yet');
    assert.deepEqual(frames, []);
    await nextTurn();
    assert.equal(observed(), 1);
    assert.deepEqual(frames, ['added r0 {"userId":"r0"}', 'added r1 {"userId":"r1"}', 'added r2 {"userId":"r2"}', 'ready']);
    assert.equal(scheduler.size, 0);
  });

  test('50 subscribing at once over a big view start one per turn', async () => {
    const scheduler = budget(1000);
    const { view, observed } = fakeView(5000);
    for (let i = 0; i < 50; i++) publishMonitorList(fakePublishThis().host, view, { sort: 'newest' } as ListOptions, 'c', scheduler);
    await nextTurn();
    assert.equal(observed(), 1);
    await nextTurn();
    assert.equal(observed(), 2);
  });

  test('stopped before its start: the view is never read, nothing is sent', async () => {
    const scheduler = budget(100);
    const { view, observed } = fakeView(3);
    const { host, frames, stop } = fakePublishThis();
    publishMonitorList(host, view, { sort: 'newest' } as ListOptions, 'c', scheduler);
    stop();
    assert.equal(scheduler.size, 0);
    await nextTurn();
    assert.equal(observed(), 0);
    assert.deepEqual(frames, []);
  });
});
