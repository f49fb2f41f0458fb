import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OnlinePeople, type PersonTransition } from '../../imports/app/online-people';
import { PersonHooks, type AccountHookInfo } from '../../imports/app/person-hooks';
import type { PresenceFields } from '../../imports/app/presence-view';
import { captureLogger, describeLogs, matching } from '../helpers/capture-logger';

const t0 = new Date('2026-11-26T08:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function record(accountId: string | undefined, extra: PresenceFields = {}, instanceId = 'A'): PresenceFields {
  const fields: PresenceFields = { userId: 'x', connectedAt: t0, instanceId, ...extra };
  if (accountId !== undefined) (fields.accountId = accountId), (fields.loggedInAt ??= extra.loggedInAt ?? t0);
  return fields;
}

function recorder(people: OnlinePeople) {
  const events: string[] = [];
  const transitions: Array<[PersonTransition, string, string]> = [];
  people.observe({
    added: (doc) => events.push(`added ${doc._id} ${doc.status} ${doc.connections}`),
    changed: (id, fields) => events.push(`changed ${id} ${JSON.stringify(fields)}`),
    removed: (id) => events.push(`removed ${id}`),
    transition: (kind, doc, cause) => transitions.push([kind, doc._id, cause.connectionId]),
  });
  return { events, transitions };
}

describe('OnlinePeople (imports/app/online-people.ts): connection records grouped by account', () => {
  test('anonymous records cost nothing and report nothing', () => {
    const people = new OnlinePeople(captureLogger().log);
    const { events } = recorder(people);
    people.recordChanged('s1', record(undefined));
    people.recordChanged('s1', undefined);
    assert.equal(people.size, 0);
    assert.deepEqual(events, []);
  });

  test('two tabs of one person: one document with connections 2; both idle → idle; one closes → still online; the last closes → offline; one transition each', () => {
    const people = new OnlinePeople(captureLogger().log);
    const { events, transitions } = recorder(people);
    people.recordChanged('tab1', record('alice', { loggedInAt: at(0) }));
    people.recordChanged('tab2', record('alice', { loggedInAt: at(5) }));
    assert.deepEqual(people.get('alice'), { _id: 'alice', status: 'online', connections: 2, since: at(0), lastActivity: at(5) });

    people.recordChanged('tab1', record('alice', { loggedInAt: at(0), idle: true, lastActivity: at(60) }));
    assert.equal(people.get('alice')!.status, 'online', 'one tab idle: the person is not');
    people.recordChanged('tab2', record('alice', { loggedInAt: at(5), idle: true, lastActivity: at(70) }));
    assert.equal(people.get('alice')!.status, 'idle');
    assert.deepEqual(people.get('alice')!.lastActivity, at(70));

    people.recordChanged('tab1', undefined, 'A');
    assert.deepEqual(people.get('alice'), { _id: 'alice', status: 'idle', connections: 1, since: at(5), lastActivity: at(70) });
    people.recordChanged('tab2', undefined, 'A');
    assert.equal(people.get('alice'), undefined);

    assert.deepEqual(transitions, [
      ['online', 'alice', 'tab1'],
      ['idle', 'alice', 'tab2'],
      ['offline', 'alice', 'tab2'],
    ]);
    assert.equal(events[0], 'added alice online 1');
    assert.equal(events.at(-1), 'removed alice');
  });

  test('idle, then active again on input: one idle and one active transition', () => {
    const people = new OnlinePeople(captureLogger().log);
    const { transitions } = recorder(people);
    people.recordChanged('s1', record('bob'));
    people.recordChanged('s1', record('bob', { idle: true, lastActivity: at(60) }));
    people.recordChanged('s1', record('bob', { idle: true, lastActivity: at(60) })); // the same again: nothing
    people.recordChanged('s1', record('bob', { lastActivity: at(90) }));
    assert.deepEqual(transitions.map(([kind]) => kind), ['online', 'idle', 'active']);
    assert.equal(people.get('bob')!.status, 'online');
  });

  test('a connection that logs out or switches account leaves one person and joins the other', () => {
    const people = new OnlinePeople(captureLogger().log);
    const { transitions } = recorder(people);
    people.recordChanged('s1', record('alice'));
    people.recordChanged('s1', record('bob'));
    assert.equal(people.get('alice'), undefined);
    assert.equal(people.get('bob')!.connections, 1);
    people.recordChanged('s1', record(undefined));
    assert.equal(people.size, 0);
    assert.deepEqual(transitions.map(([kind, id]) => `${kind} ${id}`), ['online alice', 'offline alice', 'online bob', 'offline bob']);
  });

  test('the same person on two instances is one person', () => {
    const people = new OnlinePeople(captureLogger().log);
    people.recordChanged('a1', record('carol', {}, 'A'));
    people.recordChanged('b1', record('carol', {}, 'B'));
    assert.equal(people.size, 1);
    assert.equal(people.get('carol')!.connections, 2);
  });

  test('viewCallbacks read the whole record on a change of a person field, and ignore other changes', () => {
    const people = new OnlinePeople(captureLogger().log);
    const records = new Map<string, PresenceFields>([['s1', record(undefined)]]);
    const feed = people.viewCallbacks((id) => records.get(id));
    feed.added('s1', records.get('s1')!);
    records.set('s1', record('dave'));
    feed.changed('s1', { accountId: 'dave', loggedInAt: t0 });
    assert.equal(people.get('dave')!.connections, 1);
    feed.changed('s1', { userAgent: 'x' });
    feed.removed('s1', records.get('s1')!);
    assert.equal(people.size, 0);
  });

  test('an observer that throws is logged and the others still hear', () => {
    const capture = captureLogger();
    const people = new OnlinePeople(capture.log);
    people.observe({ added: () => { throw new Error('boom'); } });
    const { events } = recorder(people);
    people.recordChanged('s1', record('erin'));
    assert.deepEqual(events, ['added erin online 1']);
    const failures = matching(capture.logs, { level: 'error', message: 'Online people observer failed' });
    assert.equal(failures.length, 1, describeLogs(capture.logs));
    assert.equal((failures[0]!.context?.error as Error | undefined)?.message, 'boom');
  });
});

describe('PersonHooks (imports/app/person-hooks.ts): once per transition, on one instance', () => {
  function hooked(ownInstanceId: string, online: Record<string, boolean>) {
    const people = new OnlinePeople(captureLogger().log);
    const capture = captureLogger();
    let firstHook = 0;
    const hooks = new PersonHooks({
      ownInstanceId,
      log: capture.log,
      isRemoteOnline: (id) => online[id] === true,
      onlineInstanceIds: () => Object.keys(online).filter((id) => online[id]),
      onFirstHook: () => firstHook++,
    });
    people.observe(hooks.callbacks);
    const fired: string[] = [];
    const infos: AccountHookInfo[] = [];
    hooks.onAccountOnline((id, info) => (fired.push(`online ${id}`), infos.push(info)));
    hooks.onAccountOffline((id) => fired.push(`offline ${id}`));
    hooks.onAccountIdle((id) => fired.push(`idle ${id}`));
    hooks.onAccountActive((id) => fired.push(`active ${id}`));
    return { people, fired, infos, capture, hooks, firstHook: () => firstHook };
  }

  test('fires for its own connections, with the person and the cause', () => {
    const { people, fired, infos, firstHook } = hooked('A', { B: true });
    assert.equal(firstHook(), 1, 'registering hooks asks for every instance\'s records once');
    people.recordChanged('s1', record('alice', {}, 'A'));
    people.recordChanged('s1', record('alice', { idle: true, lastActivity: at(9) }, 'A'));
    people.recordChanged('s1', record('alice', { lastActivity: at(10) }, 'A'));
    people.recordChanged('s1', undefined, 'A');
    assert.deepEqual(fired, ['online alice', 'idle alice', 'active alice', 'offline alice']);
    assert.deepEqual(infos[0], { status: 'online', connections: 1, since: t0, lastActivity: t0, connectionId: 's1', instanceId: 'A' });
  });

  test('does not fire for a transition another online instance caused (that one fires)', () => {
    const { people, fired } = hooked('A', { B: true });
    people.recordChanged('b1', record('bob', {}, 'B'));
    people.recordChanged('b1', undefined, 'B');
    assert.deepEqual(fired, []);
  });

  test('two tabs on two instances going idle at once, then closing: each view sees its own change first; only the owner (smallest instance id up that held her) fires, once each', () => {
    const onA = hooked('A', { B: true });
    const onB = hooked('B', { A: true });
    for (const { people } of [onA, onB]) {
      people.recordChanged('a1', record('ivy', {}, 'A'));
      people.recordChanged('b1', record('ivy', {}, 'B'));
    }
    // A hears its own change first, B its own: each view's history differs.
    onA.people.recordChanged('a1', record('ivy', { idle: true, lastActivity: at(1) }, 'A'));
    onB.people.recordChanged('b1', record('ivy', { idle: true, lastActivity: at(1) }, 'B'));
    onA.people.recordChanged('b1', record('ivy', { idle: true, lastActivity: at(1) }, 'B'));
    onB.people.recordChanged('a1', record('ivy', { idle: true, lastActivity: at(1) }, 'A'));
    assert.equal(onA.people.get('ivy')!.status, 'idle');
    assert.equal(onB.people.get('ivy')!.status, 'idle');
    assert.deepEqual(onA.fired, ['online ivy', 'idle ivy']);
    assert.deepEqual(onB.fired, []);
    // Her tab on A closes, then the one on B; B's view hears its own close before A's (the order that
    // once lost the hook: each view saw the other instance's removal end her stretch). A, still up and
    // among the instances that held her, fires her going offline, once.
    onA.people.recordChanged('a1', undefined, 'A');
    onB.people.recordChanged('b1', undefined, 'B');
    onA.people.recordChanged('b1', undefined, 'B');
    onB.people.recordChanged('a1', undefined, 'A');
    assert.deepEqual(onA.fired, ['online ivy', 'idle ivy', 'offline ivy']);
    assert.deepEqual(onB.fired, []);
  });

  test('a gone instance\'s people go offline once: on the online instance with the smallest id', () => {
    const onA = hooked('A', { B: false, C: true });
    const onC = hooked('C', { A: true, B: false });
    for (const { people } of [onA, onC]) {
      people.recordChanged('b1', record('bob', {}, 'B'));
      people.recordChanged('b1', undefined, 'B');
    }
    assert.deepEqual(onA.fired, ['online bob', 'offline bob']);
    assert.deepEqual(onC.fired, []);
  });

  test('a hook that throws or rejects is logged; the others still run', async () => {
    const { people, fired, hooks, capture } = hooked('A', {});
    hooks.onAccountOnline(() => { throw new Error('sync boom'); });
    hooks.onAccountOnline(async () => { throw new Error('async boom'); });
    people.recordChanged('s1', record('zoe', {}, 'A'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(fired, ['online zoe']);
    const failures = matching(capture.logs, { level: 'error', message: 'Account hook failed', context: { hook: 'online', accountId: 'zoe' } });
    assert.deepEqual(failures.map((entry) => (entry.context?.error as Error | undefined)?.message).sort(), ['async boom', 'sync boom'], describeLogs(capture.logs));
  });
});
