import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  RemoteState,
  defaultRemoteStateLimits,
  type InstanceDigestMessage,
  type RemoteOperation,
  type RemoteRecordEnvelope,
  type RemoteStateLimits,
} from '../../imports/mqtt/remote-state';
import { SessionDigest } from '../../imports/mqtt/session-digest';
import type { HeldRecord } from '../../imports/mqtt/compact-record';

/*
 * RemoteState, table by table. Each row is a sequence of inputs (each with
 * its own `now`), the operations each input must return (written as short
 * strings, see `render`), and what must be shown at the end.
 *
 * Every row is also checked against two invariants, after every step:
 * - the ops are a faithful diff: a `show` is never of a record already shown,
 *   a `hide` is always of a record shown, and replaying them gives exactly
 *   `shownRecords()`;
 * - a shown record always belongs to the instance the op names.
 */

const T0 = 1_700_000_000_000; // "now", unless a step says otherwise
const SKEW = defaultRemoteStateLimits.maxEpochSkewMs;
const SETTLE = defaultRemoteStateLimits.digestSettleMs;
/** Three runs of one instance, oldest first, all started before T0. */
const D = T0 - 3 * 60_000;
const E = T0 - 2 * 60_000;
const F = T0 - 60_000;
/** A forged epoch, ahead of our clock but within the allowed skew. */
const FORGED = T0 + SKEW - 1;
/** An epoch beyond the allowed skew (repro 6 used 9e15). */
const FUTURE = T0 + SKEW + 1;

const epochNames = new Map<number, string>([
  [D, 'D'],
  [E, 'E'],
  [F, 'F'],
  [FORGED, 'FORGED'],
  [FUTURE, 'FUTURE'],
]);
const epochName = (epoch: number) => epochNames.get(epoch) ?? String(epoch);

type Input =
  | { kind: 'status'; instanceId: string; state: 'online' | 'offline'; epoch: number; now: number }
  | { kind: 'record'; instanceId: string; envelope: RemoteRecordEnvelope; now: number }
  | { kind: 'removed'; instanceId: string; sessionId: string }
  | { kind: 'digest'; instanceId: string; message: InstanceDigestMessage; now: number }
  | { kind: 'check'; instanceId: string; now: number }
  | { kind: 'begin'; instanceId: string | null }
  | { kind: 'end'; instanceId: string | null; now: number }
  | { kind: 'check status'; instanceId: string }
  | { kind: 'clear' };

const online = (instanceId: string, epoch: number, now = T0): Input => ({ kind: 'status', instanceId, state: 'online', epoch, now });
const offline = (instanceId: string, epoch: number, now = T0): Input => ({ kind: 'status', instanceId, state: 'offline', epoch, now });
/** A record of `instanceId`'s run `epoch`; `version` tells two publications of one session apart. */
const rec = (instanceId: string, sessionId: string, epoch: number, now = T0, version = 1): Input => ({
  kind: 'record',
  instanceId,
  envelope: { record: { _id: sessionId, instanceId, version }, epoch },
  now,
});
const removed = (instanceId: string, sessionId: string): Input => ({ kind: 'removed', instanceId, sessionId });
/** The digest `instanceId` would publish holding exactly `sessionIds`. */
const digest = (instanceId: string, epoch: number, seq: number, sessionIds: string[], now = T0): Input => {
  const d = new SessionDigest();
  for (const id of sessionIds) d.add(id);
  return { kind: 'digest', instanceId, message: { ...d.value(), epoch, seq }, now };
};
const check = (instanceId: string, now: number): Input => ({ kind: 'check', instanceId, now });
const begin = (instanceId: string | null): Input => ({ kind: 'begin', instanceId });
const end = (instanceId: string | null, now = T0): Input => ({ kind: 'end', instanceId, now });
const clear = (): Input => ({ kind: 'clear' });
const checkStatus = (instanceId: string): Input => ({ kind: 'check status', instanceId });

/** `[input]` checks only the invariants; `[input, ops]` also the exact ops, in order. */
type Step = [Input] | [Input, string[]];

interface Row {
  name: string;
  limits?: Partial<RemoteStateLimits>;
  steps: Step[];
  /** `instance/session` keys shown at the end. */
  shown?: string[];
  online?: number;
  records?: number;
}

function render(op: RemoteOperation): string {
  switch (op.op) {
    case 'show':
      return `show ${op.instanceId}/${op.record._id}`;
    case 'hide':
      return `hide ${op.instanceId}/${op.sessionId}`;
    case 'check digest later':
      return `check ${op.instanceId} in ${op.afterMs}`;
    case 'resync':
      return `resync ${op.instanceId}`;
    case 'check status later':
      return `check status ${op.instanceId} in ${op.afterMs}`;
    case 'reject':
      return `reject ${op.instanceId}: ${op.reason}`;
    case 'instance online':
      return `online ${op.instanceId} ${epochName(op.epoch)}`;
    case 'instance offline':
      return `offline ${op.instanceId} ${epochName(op.epoch)}`;
  }
}

function apply(state: RemoteState, input: Input): RemoteOperation[] {
  switch (input.kind) {
    case 'status':
      return state.status(input.instanceId, { state: input.state, epoch: input.epoch }, input.now);
    case 'record':
      return state.record(input.instanceId, input.envelope, input.now);
    case 'removed':
      return state.recordRemoved(input.instanceId, input.sessionId);
    case 'digest':
      return state.digest(input.instanceId, input.message, input.now);
    case 'check':
      return state.checkDigest(input.instanceId, input.now);
    case 'begin':
      state.beginResync(input.instanceId);
      return [];
    case 'end':
      return state.endResync(input.instanceId, input.now);
    case 'check status':
      return state.checkStatus(input.instanceId);
    case 'clear':
      return state.clear();
  }
}

function describeInput(input: Input): string {
  switch (input.kind) {
    case 'status':
      return `${input.state}(${input.instanceId}, ${epochName(input.epoch)}) at T0${signed(input.now - T0)}`;
    case 'record':
      return `record(${input.instanceId}/${input.envelope.record._id}, ${epochName(input.envelope.epoch)})`;
    case 'removed':
      return `recordRemoved(${input.instanceId}/${input.sessionId})`;
    case 'digest':
      return `digest(${input.instanceId}, ${epochName(input.message.epoch)}, seq ${input.message.seq}, count ${input.message.count}) at T0${signed(input.now - T0)}`;
    case 'check':
      return `checkDigest(${input.instanceId}) at T0${signed(input.now - T0)}`;
    case 'begin':
      return `beginResync(${input.instanceId})`;
    case 'end':
      return `endResync(${input.instanceId})`;
    case 'check status':
      return `checkStatus(${input.instanceId})`;
    case 'clear':
      return 'clear()';
  }
}

const signed = (n: number) => (n === 0 ? '' : n > 0 ? `+${n}` : String(n));
const keyOf = (record: HeldRecord) => `${record.instanceId}/${record._id}`;
const shownKeys = (state: RemoteState) => [...state.shownRecords()].map(keyOf).sort();

function run(row: Row): RemoteState {
  const state = new RemoteState({ ...defaultRemoteStateLimits, ...row.limits });
  /** What a consumer that carries out every op would display. */
  const display = new Map<string, HeldRecord>();
  row.steps.forEach(([input, expected], i) => {
    const where = `step ${i + 1}: ${describeInput(input)}`;
    const ops = apply(state, input);
    if (expected) assert.deepEqual(ops.map(render), expected, where);
    for (const op of ops) {
      if (op.op === 'show') {
        assert.equal(op.record.instanceId, op.instanceId, `${where}: a record shown under another instance`);
        const key = `${op.instanceId}/${op.record._id}`;
        assert.ok(!display.has(key), `${where}: show of ${key}, already shown`);
        display.set(key, op.record);
      } else if (op.op === 'hide') {
        const key = `${op.instanceId}/${op.sessionId}`;
        assert.ok(display.has(key), `${where}: hide of ${key}, not shown`);
        display.delete(key);
      }
    }
    assert.deepEqual([...display.keys()].sort(), shownKeys(state), `${where}: ops disagree with shownRecords()`);
    for (const record of state.shownRecords()) assert.equal(display.get(keyOf(record)), record, `${where}: stale copy of ${keyOf(record)}`);
  });
  if (row.shown) assert.deepEqual(shownKeys(state), [...row.shown].sort(), 'shown at the end');
  if (row.online !== undefined) assert.equal(state.onlineInstanceCount, row.online, 'onlineInstanceCount');
  if (row.records !== undefined) assert.equal(state.recordCount, row.records, 'recordCount');
  return state;
}

function table(title: string, rows: Row[]): void {
  describe(title, () => {
    for (const row of rows) test(row.name, () => void run(row));
  });
}

table('RemoteState: stale epochs', [
  {
    name: 'an online older than the current run is ignored',
    steps: [
      [online('A', F), ['online A F']],
      [rec('A', 's1', F), ['show A/s1']],
      [online('A', E), []],
      [rec('A', 's0', E), []],
    ],
    shown: ['A/s1'],
    online: 1,
    records: 2,
  },
  {
    name: 'a repeated online of the current run changes nothing',
    steps: [
      [online('A', E), ['online A E']],
      [rec('A', 's1', E), ['show A/s1']],
      [online('A', E), []],
      [online('A', E, T0 + 60_000), []],
    ],
    shown: ['A/s1'],
    online: 1,
    records: 1,
  },
  {
    name: 'records of a non-current run are held but not shown',
    steps: [
      [online('A', F), ['online A F']],
      [rec('A', 's0', E), []],
      [rec('A', 's2', F), ['show A/s2']],
    ],
    shown: ['A/s2'],
    online: 1,
    records: 2,
  },
  {
    name: 'records that arrive before their status are held, then shown when their run comes online',
    steps: [
      [rec('A', 's1', E), []],
      [rec('A', 's2', E), []],
      [online('A', E), ['show A/s1', 'show A/s2', 'online A E']],
    ],
    shown: ['A/s1', 'A/s2'],
    online: 1,
    records: 2,
  },
  {
    name: 'a record published again replaces the one shown (hide, then show the new copy)',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E, T0, 1), ['show A/s1']],
      [rec('A', 's1', E, T0, 2), ['hide A/s1', 'show A/s1']],
    ],
    shown: ['A/s1'],
    records: 1,
  },
]);

table('RemoteState: new runs', [
  {
    name: "online(F) after online(E) hides E's records and shows F's",
    steps: [
      [online('A', E), ['online A E']],
      [rec('A', 's1', E), ['show A/s1']],
      [rec('A', 's2', F), []],
      [online('A', F), ['hide A/s1', 'show A/s2', 'online A F']],
    ],
    shown: ['A/s2'],
    online: 1,
    records: 2, // E's record is held until E's offline, in case it comes
  },
  {
    name: 'a record of the new run that arrives after its online is shown at once',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [online('A', F), ['hide A/s1', 'online A F']],
      [rec('A', 's2', F), ['show A/s2']],
    ],
    shown: ['A/s2'],
  },
  {
    name: "a new run of one instance leaves the other instances' records alone",
    steps: [
      [online('A', E)],
      [online('B', E)],
      [rec('A', 's1', E)],
      [rec('B', 't1', E)],
      [online('A', F), ['hide A/s1', 'online A F']],
    ],
    shown: ['B/t1'],
    online: 2,
  },
]);

table('RemoteState: late offlines', [
  {
    name: "offline(E) after online(F) leaves F's records shown and drops E's",
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [online('A', F), ['hide A/s1', 'online A F']],
      [rec('A', 's2', F), ['show A/s2']],
      [offline('A', E), []],
    ],
    shown: ['A/s2'],
    online: 1,
    records: 1,
  },
  {
    name: 'offline(E) drops the records of E and of every older run, and ends E',
    steps: [
      [rec('A', 's0', D)],
      [rec('A', 's1', E)],
      [rec('A', 's2', F)],
      [online('A', E), ['show A/s1', 'online A E']],
      [offline('A', E), ['hide A/s1', 'offline A E']],
    ],
    shown: [],
    online: 0,
    records: 1, // F's record, a run not known to have ended
  },
  {
    name: 'offline of a newer run ends the current one too',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [offline('A', F), ['hide A/s1', 'offline A F']],
    ],
    shown: [],
    online: 0,
    records: 0,
  },
  {
    name: 'a record from a run that already ended is ignored',
    steps: [
      [offline('A', E), []],
      [rec('A', 's1', E), []],
      [rec('A', 's0', D), []],
    ],
    shown: [],
    online: 0,
    records: 0,
  },
  {
    name: 'an online of a run that already ended is ignored (its Will came first)',
    steps: [
      [rec('A', 's1', E)],
      [offline('A', E), []],
      [online('A', E), []],
      [online('A', D), []],
    ],
    shown: [],
    online: 0,
    records: 0,
  },
  {
    name: "a late record of the ended run does not come back after a new run's online",
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [offline('A', E), ['hide A/s1', 'offline A E']],
      [online('A', F), ['online A F']],
      [rec('A', 's1', E), []],
      [rec('A', 's2', F), ['show A/s2']],
    ],
    shown: ['A/s2'],
    online: 1,
    records: 1,
  },
]);

table('RemoteState: forged statuses', [
  {
    name: "an online beyond now + maxEpochSkewMs is rejected ('future epoch') and changes nothing",
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [online('A', FUTURE), ['reject A: future epoch']],
      [online('A', 9e15), ['reject A: future epoch']],
      [rec('A', 's2', E), ['show A/s2']],
      // The real Will still counts: no epoch was poisoned.
      [offline('A', E), ['hide A/s1', 'hide A/s2', 'offline A E']],
    ],
    shown: [],
    online: 0,
    records: 0,
  },
  {
    name: 'a future online for an unknown instance does not count it as online',
    steps: [[online('X', FUTURE), ['reject X: future epoch']]],
    online: 0,
    records: 0,
  },
  {
    name: 'an epoch exactly at now + maxEpochSkewMs is still accepted',
    steps: [[online('A', T0 + SKEW), [`online A ${T0 + SKEW}`]]],
    online: 1,
  },
  {
    name: "a forged online within the skew hides the real run's records, but the real Will still drops them: no ghosts",
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [online('A', FORGED), ['hide A/s1', 'hide A/s2', 'online A FORGED']],
      [rec('A', 's3', E), []], // the real run keeps publishing: held, not shown
      [offline('A', E), []], // the real Will
      [rec('A', 's4', E), []], // a late record of the dead run
    ],
    shown: [],
    records: 0,
  },
  {
    name: 'an offline beyond the skew is rejected and does not poison later runs',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [offline('A', FUTURE), ['reject A: future epoch']],
      [offline('A', 9e15), ['reject A: future epoch']],
      [online('A', F), ['hide A/s1', 'online A F']],
      [rec('A', 's2', F), ['show A/s2']],
    ],
    shown: ['A/s2'],
    online: 1,
  },
  {
    name: 'records with a future epoch are rejected and not held',
    steps: [
      [online('A', E)],
      [rec('A', 's1', FUTURE), ['reject A: future epoch']],
      [rec('A', 's2', 9e15), ['reject A: future epoch']],
    ],
    shown: [],
    records: 0,
  },
  {
    name: 'a future epoch is judged against the now of each message',
    steps: [
      [rec('A', 's1', FUTURE), ['reject A: future epoch']],
      [rec('A', 's1', FUTURE, T0 + 2), []], // the clock caught up
      [online('A', FUTURE, T0 + 2), ['show A/s1', 'online A FUTURE']],
    ],
    shown: ['A/s1'],
  },
]);

table('RemoteState: authority', [
  {
    name: "removing a session id under instance X never touches instance Y's record with the same id",
    steps: [
      [online('A', E)],
      [online('B', E)],
      [rec('A', 's1', E)],
      [rec('B', 's1', E)],
      [removed('EVIL', 's1'), []],
      [removed('B', 's1'), ['hide B/s1']],
      [removed('B', 's1'), []],
    ],
    shown: ['A/s1'],
    online: 2,
    records: 1,
  },
  {
    name: 'a removal under an unknown instance creates no instance',
    steps: [[removed('EVIL', 's1'), []]],
    online: 0,
    records: 0,
  },
  {
    name: "one instance's statuses never touch another instance's records with the same ids",
    steps: [
      [online('A', E)],
      [online('B', E)],
      [rec('A', 's1', E)],
      [rec('B', 's1', E)],
      [offline('B', F), ['hide B/s1', 'offline B F']],
      [online('EVIL', F), ['online EVIL F']],
      [offline('EVIL', F), ['offline EVIL F']],
    ],
    shown: ['A/s1'],
    online: 1,
    records: 1,
  },
  {
    name: "a record under X with Y's session id is X's own record",
    steps: [
      [online('A', E)],
      [online('B', E)],
      [rec('A', 's1', E)],
      [rec('B', 's1', E), ['show B/s1']],
      [rec('B', 's1', E, T0, 2), ['hide B/s1', 'show B/s1']],
    ],
    shown: ['A/s1', 'B/s1'],
    records: 2,
  },
]);

table('RemoteState: digest mismatches', [
  {
    name: 'a matching digest produces no ops',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [digest('A', E, 1, ['s2', 's1']), []],
      [check('A', T0 + SETTLE), []],
    ],
  },
  {
    name: 'an empty instance matches an empty digest',
    steps: [
      [online('A', E)],
      [digest('A', E, 1, []), []],
    ],
  },
  {
    name: "only the current run's records count: held records of other runs are not compared",
    steps: [
      [online('A', F)],
      [rec('A', 's0', E)],
      [rec('A', 's1', F)],
      [digest('A', F, 1, ['s1']), []],
    ],
    records: 2,
  },
  {
    // Every disagreeing digest asks again, for the time left since the mismatch began
    // (the bridge keeps one timer per instance), so no lost timer can leave a view wrong for good.
    name: "a mismatch asks for a check when the settle time is up, counted from the first disagreeing digest",
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [digest('A', E, 1, ['s1', 's2']), [`check A in ${SETTLE}`]],
      [digest('A', E, 2, ['s1', 's2'], T0 + 100), [`check A in ${SETTLE - 100}`]],
      [digest('A', E, 3, ['s1', 's2', 's3'], T0 + 200), [`check A in ${SETTLE - 200}`]],
    ],
  },
  {
    name: "checkDigest before the settle time asks to check again later; after it, asks for 'resync'",
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [digest('A', E, 1, ['s1', 's2']), [`check A in ${SETTLE}`]],
      [check('A', T0 + 400), [`check A in ${SETTLE - 400}`]],
      [check('A', T0 + SETTLE), ['resync A']],
    ],
  },
  {
    name: 'a ghost (a record the instance no longer has) is a mismatch too',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [digest('A', E, 1, ['s1']), [`check A in ${SETTLE}`]],
      [check('A', T0 + SETTLE), ['resync A']],
    ],
  },
  {
    name: 'a mismatch that resolves (the missing record arrives) clears',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [digest('A', E, 1, ['s1', 's2']), [`check A in ${SETTLE}`]],
      [rec('A', 's2', E, T0 + 10), ['show A/s2']],
      [check('A', T0 + SETTLE), []],
      [check('A', T0 + 10 * SETTLE), []],
      // Cleared: the next mismatch starts its own wait.
      [rec('A', 's3', E, T0 + 20 * SETTLE), ['show A/s3']],
      [digest('A', E, 2, ['s1', 's2'], T0 + 20 * SETTLE), [`check A in ${SETTLE}`]],
    ],
  },
  {
    name: 'a mismatch that resolves by a removal clears',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [digest('A', E, 1, ['s1']), [`check A in ${SETTLE}`]],
      [removed('A', 's2'), ['hide A/s2']],
      [check('A', T0 + SETTLE), []],
    ],
  },
  {
    name: 'a digest for a non-current epoch is ignored',
    steps: [
      [online('A', F)],
      [rec('A', 's1', F)],
      [digest('A', E, 9, ['x', 'y']), []],
      [digest('A', D, 9, []), []],
      [check('A', T0 + SETTLE), []],
    ],
  },
  {
    name: 'a digest of an old run does not displace the current run\'s digest (regression)',
    steps: [
      [online('A', F)],
      [rec('A', 's1', F)],
      [digest('A', F, 1, ['s1', 's2']), [`check A in ${SETTLE}`]],
      [digest('A', E, 7, []), []], // a late digest of the previous run
      [check('A', T0 + SETTLE), ['resync A']],
    ],
  },
  {
    name: 'a digest of an ended run is ignored, even while no run is current (regression)',
    steps: [
      [online('A', E)],
      [offline('A', E)],
      [digest('A', F, 1, ['s1']), []], // the next run's digest, before its online
      [digest('A', E, 9, []), []], // a late digest of the ended run
      [online('A', F, T0 + 10), ['online A F', `check A in ${SETTLE}`]],
    ],
  },
  {
    name: 'a digest that arrives before its run comes online is compared when it does',
    steps: [
      [online('A', E)],
      [digest('A', F, 1, ['s1', 's2']), []],
      [rec('A', 's1', F)],
      [online('A', F, T0 + 10), ['show A/s1', 'online A F', `check A in ${SETTLE}`]],
      [rec('A', 's2', F, T0 + 20), ['show A/s2']],
      [check('A', T0 + 10 + SETTLE), []],
    ],
  },
  {
    name: 'an older seq of the same epoch is ignored',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [digest('A', E, 5, ['s1']), []],
      [digest('A', E, 4, []), []], // delivered late; taken, it would mismatch
      [check('A', T0 + SETTLE), []],
      [digest('A', E, 6, []), [`check A in ${SETTLE}`]], // a newer one is taken
    ],
  },
  {
    name: 'a new run starts its own sequence',
    steps: [
      [online('A', E)],
      [digest('A', E, 50, []), []],
      [online('A', F)],
      [digest('A', F, 1, ['s1']), [`check A in ${SETTLE}`]],
    ],
  },
  {
    name: 'a pending mismatch is dropped when the instance goes offline',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [digest('A', E, 1, ['s1', 's2']), [`check A in ${SETTLE}`]],
      [offline('A', E), ['hide A/s1', 'offline A E']],
      [check('A', T0 + SETTLE), []],
    ],
    online: 0,
  },
  {
    name: "a mismatch of the old run does not cut short the new run's settle time (regression)",
    steps: [
      [online('A', E)],
      [digest('A', E, 1, ['s1']), [`check A in ${SETTLE}`]],
      [online('A', F, T0 + 900), ['online A F']],
      // The new run's records are still arriving when its first digest does.
      [digest('A', F, 1, ['t1', 't2'], T0 + 950), [`check A in ${SETTLE}`]],
      [rec('A', 't1', F, T0 + 960), ['show A/t1']],
      // The old run's timer fires: F's mismatch is 50 ms old, not a reason to resync.
      [check('A', T0 + SETTLE), [`check A in ${950}`]],
      [rec('A', 't2', F, T0 + 1100), ['show A/t2']],
      [check('A', T0 + 950 + SETTLE), []],
    ],
  },
  {
    name: 'checkDigest for an unknown instance, or with nothing pending, does nothing',
    steps: [
      [check('X', T0), []],
      [online('A', E)],
      [check('A', T0 + SETTLE), []],
    ],
    online: 1,
  },
  {
    name: 'a digest with a future epoch is rejected',
    steps: [
      [online('A', E)],
      [digest('A', FUTURE, 1, ['s1']), ['reject A: future epoch']],
    ],
  },
]);

table('RemoteState: resync', [
  {
    name: "beginResync(X): re-announced records are kept, the rest dropped at endResync(X), with 'hide' for shown ones",
    steps: [
      [online('A', E)],
      [online('B', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [rec('A', 's3', E)],
      [rec('A', 's0', D)], // held, not shown
      [rec('B', 't1', E)],
      [begin('A'), []],
      [rec('A', 's1', E), [] as string[]],
      [removed('A', 's2'), ['hide A/s2']],
      [end('A'), ['hide A/s3']],
    ],
    shown: ['A/s1', 'B/t1'],
    online: 2,
    records: 2,
  },
  {
    name: 'a record that first arrives during the resync is kept',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [begin('A')],
      [rec('A', 's2', E), ['show A/s2']],
      [end('A'), ['hide A/s1']],
    ],
    shown: ['A/s2'],
    records: 1,
  },
  {
    name: 'a resync of one instance leaves the others alone',
    steps: [
      [online('A', E)],
      [online('B', E)],
      [rec('A', 's1', E)],
      [rec('B', 't1', E)],
      [begin('B')],
      [end('B'), ['hide B/t1']],
    ],
    shown: ['A/s1'],
    online: 2,
  },
  {
    name: 'a full resync (null) drops what was not re-announced; an instance whose status was not keeps its records for statusGraceMs, then is forgotten',
    steps: [
      [online('A', E)],
      [online('B', E)],
      [online('C', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [rec('B', 't1', E)],
      [rec('C', 'u1', E)],
      [begin(null), []],
      [online('A', E), []],
      [rec('A', 's1', E), [] as string[]],
      [offline('C', E), ['hide C/u1', 'offline C E']],
      [rec('B', 't1', E), [] as string[]], // B's status did not come back (yet)
      [end(null), ['hide A/s2', 'check status B in 10000']],
      [checkStatus('B'), ['hide B/t1']],
      [checkStatus('B'), []],
    ],
    shown: ['A/s1'],
    online: 1,
    records: 1,
  },
  {
    name: 'after a broker restart, an instance whose status comes back within the grace keeps its records: no removal and re-add at the monitors',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [begin(null), []],
      [end(null), ['check status A in 10000']],
      [online('A', E), []],
      [rec('A', 's1', E), []],
      [checkStatus('A'), []],
    ],
    shown: ['A/s1', 'A/s2'],
    online: 1,
    records: 2,
  },
  {
    name: 'an instance first seen during a full resync is kept',
    steps: [
      [begin(null)],
      [online('A', E), ['online A E']],
      [rec('A', 's1', E), ['show A/s1']],
      [end(null), []],
    ],
    shown: ['A/s1'],
    online: 1,
  },
  {
    // Found by the benchmark (broker SIGKILL with 3 × 19,000): a mismatch pending at a full resync, for an
    // instance whose status came back late, stopped every later digest check; two views stayed wrong for 80 s.
    name: 'a mismatch pending when a full resync ends is looked at again by the next disagreeing digest (regression)',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [digest('A', E, 1, ['s1', 's2']), [`check A in ${SETTLE}`]],
      [begin(null), []],
      [end(null, T0 + 100), ['check status A in 10000']],
      [online('A', E, T0 + 200), []],
      [digest('A', E, 2, ['s1', 's2'], T0 + 3000), [`check A in ${SETTLE}`]],
      [check('A', T0 + 3000 + SETTLE), ['resync A']],
    ],
  },
  {
    name: 'endResync re-compares the digest: a resync that fixes the view settles it',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [digest('A', E, 1, ['s1']), [`check A in ${SETTLE}`]],
      [check('A', T0 + SETTLE), ['resync A']],
      [begin('A')],
      [check('A', T0 + 2 * SETTLE), [`check A in ${SETTLE}`]], // while resyncing: look again later
      [digest('A', E, 2, ['s1'], T0 + 2 * SETTLE), []],
      [rec('A', 's1', E, T0 + 2 * SETTLE)],
      [end('A', T0 + 3 * SETTLE), ['hide A/s2']],
      [check('A', T0 + 5 * SETTLE), []],
    ],
    shown: ['A/s1'],
  },
  {
    name: 'endResync re-compares the digest: a mismatch that survives the resync starts a new wait',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [digest('A', E, 1, ['s1', 's3']), [`check A in ${SETTLE}`]],
      [check('A', T0 + SETTLE), ['resync A']],
      [begin('A')],
      [rec('A', 's1', E, T0 + SETTLE)],
      [end('A', T0 + 2 * SETTLE), [`check A in ${SETTLE}`]],
      [check('A', T0 + 2 * SETTLE + 10), [`check A in ${SETTLE - 10}`]],
      [check('A', T0 + 3 * SETTLE), ['resync A']],
    ],
  },
  {
    name: 'endResync with no resync begun does nothing',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [end('A'), []],
      [end(null), []],
      [end('X'), []],
    ],
    shown: ['A/s1'],
    online: 1,
  },
]);

table('RemoteState: caps', [
  {
    name: "past maxRecordsPerInstance new records are rejected ('record cap'); other instances are unaffected",
    limits: { maxRecordsPerInstance: 2 },
    steps: [
      [online('A', E)],
      [online('B', E)],
      [rec('A', 's1', E), ['show A/s1']],
      [rec('A', 's2', E), ['show A/s2']],
      [rec('A', 's3', E), ['reject A: record cap']],
      [rec('A', 's1', E, T0, 2), ['hide A/s1', 'show A/s1']], // an update is not a new record
      [rec('B', 't1', E), ['show B/t1']],
      [rec('B', 't2', E), ['show B/t2']],
    ],
    shown: ['A/s1', 'A/s2', 'B/t1', 'B/t2'],
    records: 4,
  },
  {
    name: 'a partial instance gets no digest checks; the others still do',
    limits: { maxRecordsPerInstance: 2 },
    steps: [
      [online('A', E)],
      [online('B', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [rec('A', 's3', E), ['reject A: record cap']],
      [digest('A', E, 1, ['s1', 's2', 's3']), []],
      [check('A', T0 + SETTLE), []],
      [rec('B', 't1', E)],
      [digest('B', E, 1, ['t1', 't2']), [`check B in ${SETTLE}`]],
    ],
  },
  {
    name: 'an instance that becomes partial while a mismatch is pending is not resynced (regression)',
    limits: { maxRecordsPerInstance: 2 },
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [digest('A', E, 1, ['s1', 's2', 's3']), [`check A in ${SETTLE}`]],
      [rec('A', 's2', E), ['show A/s2']],
      [rec('A', 's3', E), ['reject A: record cap']],
      [check('A', T0 + SETTLE), []],
    ],
  },
  {
    name: 'removing records lets new ones in again, and digest checks resume',
    limits: { maxRecordsPerInstance: 2 },
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [rec('A', 's3', E), ['reject A: record cap']],
      [removed('A', 's1'), ['hide A/s1']],
      [rec('A', 's3', E), ['show A/s3']],
      [digest('A', E, 1, ['s2', 's3', 's4']), [`check A in ${SETTLE}`]],
    ],
    shown: ['A/s2', 'A/s3'],
    records: 2,
  },
  {
    name: "past maxRecordsTotal new records are rejected ('record cap'); a removal makes room",
    limits: { maxRecordsTotal: 3 },
    steps: [
      [online('A', E)],
      [online('B', E)],
      [rec('A', 's1', E)],
      [rec('A', 's2', E)],
      [rec('B', 't1', E), ['show B/t1']],
      [rec('B', 't2', E), ['reject B: record cap']],
      [rec('A', 's3', E), ['reject A: record cap']],
      [rec('A', 's1', E, T0, 2), ['hide A/s1', 'show A/s1']],
      [removed('A', 's1'), ['hide A/s1']],
      [rec('B', 't2', E), ['show B/t2']],
    ],
    shown: ['A/s2', 'B/t1', 'B/t2'],
    records: 3,
  },
  {
    name: 'held records of other runs count against the caps, and an offline frees them',
    limits: { maxRecordsPerInstance: 2 },
    steps: [
      [online('A', F)],
      [rec('A', 's1', E), []],
      [rec('A', 's2', E), []],
      [rec('A', 's3', F), ['reject A: record cap']],
      [offline('A', E), []],
      [rec('A', 's3', F), ['show A/s3']],
    ],
    shown: ['A/s3'],
    records: 1,
  },
  {
    name: 'a flood from a fake instance cannot crowd out a real one past the per-instance cap',
    limits: { maxRecordsPerInstance: 3, maxRecordsTotal: 10 },
    steps: [
      [online('A', E)],
      ...['f1', 'f2', 'f3', 'f4', 'f5'].map((id): Step => [rec('FAKE', id, E)]),
      [rec('A', 's1', E), ['show A/s1']],
      [digest('A', E, 1, ['s1']), []],
    ],
    shown: ['A/s1'],
    records: 4,
  },
]);

table('RemoteState: clear()', [
  {
    name: 'clear() hides everything and forgets every instance',
    steps: [
      [online('A', E)],
      [online('B', E)],
      [rec('A', 's1', E)],
      [rec('A', 's0', D)],
      [rec('B', 't1', E)],
      [digest('A', E, 1, ['s1', 's2'])],
      [clear(), ['hide A/s1', 'hide B/t1']],
      [check('A', T0 + SETTLE), []],
      [clear(), []],
    ],
    shown: [],
    online: 0,
    records: 0,
  },
  {
    name: 'after clear() the state starts afresh',
    steps: [
      [online('A', E)],
      [rec('A', 's1', E)],
      [clear()],
      [rec('A', 's1', E), []],
      [online('A', E), ['show A/s1', 'online A E']],
    ],
    shown: ['A/s1'],
    online: 1,
    records: 1,
  },
]);

describe('RemoteState: the shown records', () => {
  test('shownRecords() yields the latest copy of each shown record', () => {
    const state = run({
      name: '',
      steps: [[online('A', E)], [rec('A', 's1', E, T0, 1)], [rec('A', 's1', E, T0, 2)]],
    });
    assert.deepEqual([...state.shownRecords()].map((r) => r.toDocument()), [{ _id: 's1', instanceId: 'A', version: 2 }]);
  });

  test('the default limits are the documented ones', () => {
    assert.deepEqual(defaultRemoteStateLimits, {
      maxRecordsPerInstance: 50_000,
      maxRecordsTotal: 500_000,
      maxInstances: 1_000,
      maxEpochSkewMs: 5 * 60_000,
      digestSettleMs: 1_000,
      statusGraceMs: 10_000,
      maxInternedStrings: 4_096,
    });
  });
});

describe('RemoteState: the number of instances', () => {
  test('past maxInstances a new id is refused, unless an offline instance can be forgotten to make room', () => {
    const state = new RemoteState({ ...defaultRemoteStateLimits, maxInstances: 2 });
    assert.deepEqual(state.status('A', { state: 'online', epoch: 1 }, 10).map((o) => o.op), ['instance online']);
    assert.deepEqual(state.status('B', { state: 'online', epoch: 1 }, 10).map((o) => o.op), ['instance online']);
    // Both real: they published their digests, as every instance does at connect.
    for (const id of ['A', 'B']) state.digest(id, { epoch: 1, seq: 0, count: 0, hash: '0'.repeat(16) }, 10);
    assert.deepEqual(state.status('C', { state: 'online', epoch: 1 }, 10), [{ op: 'reject', instanceId: 'C', reason: 'instance cap' }]);
    assert.deepEqual(state.digest('D', { epoch: 1, seq: 1, count: 0, hash: '0'.repeat(16) }, 10), [{ op: 'reject', instanceId: 'D', reason: 'instance cap' }]);
    state.status('B', { state: 'offline', epoch: 1 }, 10);
    assert.deepEqual(state.status('C', { state: 'online', epoch: 1 }, 10).map((o) => o.op), ['instance online'], 'B, offline, made room');
    assert.equal(state.onlineInstanceCount, 2);
  });

  test('a flood of made-up online statuses (no record, no digest) cannot keep a real instance out', () => {
    const state = new RemoteState({ ...defaultRemoteStateLimits, maxInstances: 3 });
    state.status('REAL1', { state: 'online', epoch: 1 }, 10);
    state.record('REAL1', { record: { _id: 's1', instanceId: 'REAL1' }, epoch: 1 }, 10);
    for (const fake of ['F1', 'F2']) state.status(fake, { state: 'online', epoch: 1 }, 10);
    assert.deepEqual(state.status('REAL2', { state: 'online', epoch: 1 }, 10).map((o) => o.op), ['instance online'], 'a status-only fake made room');
    assert.deepEqual([...state.shownRecords()].map((r) => r._id), ['s1'], 'the real instance with records stays');
  });
});

describe('RemoteState: isOnline (what the stats\' `online` shows)', () => {
  test('true exactly while an instance has a current run: online makes it, its offline (a Will) or clear ends it', () => {
    const state = new RemoteState();
    const status = (id: string, s: 'online' | 'offline', epoch: number) => state.status(id, { state: s, epoch }, T0);
    assert.equal(state.isOnline('A'), false, 'never heard of');
    status('A', 'online', E);
    assert.equal(state.isOnline('A'), true);
    status('A', 'offline', D);
    assert.equal(state.isOnline('A'), true, 'the Will of an older run ends only that run');
    status('A', 'offline', E);
    assert.equal(state.isOnline('A'), false, 'its Will');
    status('A', 'online', E);
    assert.equal(state.isOnline('A'), false, 'a late online of the run that ended');
    status('A', 'online', F);
    assert.equal(state.isOnline('A'), true, 'a new run');
    state.record('B', { record: { _id: 's1', instanceId: 'B' }, epoch: E }, T0);
    assert.equal(state.isOnline('B'), false, 'records alone do not make an instance online');
    state.clear();
    assert.equal(state.isOnline('A'), false, 'the bridge stopped');
  });
});
