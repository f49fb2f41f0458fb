import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import { MeteorError } from '../../imports/ddp/meteor-error';
import {
  DdpRateLimiter,
  defaultRateLimitErrorMessage,
  RateLimiter,
  type RateLimitInput,
  type RateLimitResult,
} from '../../imports/ddp/rate-limiter';
import { captureLogger, describeLogs, matching } from '../helpers/capture-logger';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';

/** A clock the test moves by hand. */
function manualClock(start = 0) {
  const clock = { t: start, now: () => clock.t, advance: (ms: number) => void (clock.t += ms) };
  return clock;
}

function input(overrides: Partial<RateLimitInput> = {}): RateLimitInput {
  return { userId: null, clientAddress: '10.0.0.1', type: 'method', name: 'm', connectionId: 'c1', ...overrides };
}

/** livedata_server.js: _increment, then _check. */
function call(limiter: RateLimiter, overrides: Partial<RateLimitInput> = {}): RateLimitResult {
  const i = input(overrides);
  limiter.increment(i);
  return limiter.check(i);
}

function allowedRun(limiter: RateLimiter, n: number, overrides: Partial<RateLimitInput> = {}): boolean[] {
  return Array.from({ length: n }, () => call(limiter, overrides).allowed);
}

describe('RateLimiter (Meteor rate-limit.js semantics, injected time)', () => {
  test('numRequests calls per window are allowed, the next is not (counted, then checked)', () => {
    const limiter = new RateLimiter({ now: manualClock().now });
    limiter.addRule({ type: 'method', name: 'm' }, 3, 1000);
    assert.deepEqual(allowedRun(limiter, 5), [true, true, true, false, false]);
  });

  test('value matchers: other names and types are not counted', () => {
    const limiter = new RateLimiter({ now: manualClock().now });
    limiter.addRule({ type: 'method', name: 'm' }, 1, 1000);
    assert.deepEqual(allowedRun(limiter, 2), [true, false]);
    assert.equal(call(limiter, { name: 'other' }).allowed, true);
    assert.equal(call(limiter, { type: 'subscription' }).allowed, true);
  });

  test('a missing key matches anything and does not split the counter', () => {
    const limiter = new RateLimiter({ now: manualClock().now });
    limiter.addRule({ type: 'method' }, 2, 1000);
    assert.equal(call(limiter, { name: 'a', connectionId: 'c1' }).allowed, true);
    assert.equal(call(limiter, { name: 'b', connectionId: 'c2' }).allowed, true);
    assert.equal(call(limiter, { name: 'c', connectionId: 'c3' }).allowed, false, 'one bucket for every method');
  });

  test('null is a wildcard (accounts-base writes userId: null); undefined matches nothing (Meteor compares with ===)', () => {
    const limiter = new RateLimiter({ now: manualClock().now });
    limiter.addRule({ userId: null, name: 'm' }, 1, 1000);
    limiter.addRule({ userId: undefined, name: 'never' }, 1, 1000);
    assert.deepEqual(allowedRun(limiter, 2, { userId: 'u1' }), [true, false]);
    assert.equal(call(limiter, { userId: null }).allowed, false, 'null did not split by userId');
    assert.deepEqual(allowedRun(limiter, 3, { name: 'never' }), [true, true, true]);
  });

  test('function matchers select inputs, and each matched value gets its own counter', () => {
    const limiter = new RateLimiter({ now: manualClock().now });
    limiter.addRule({ name: (name) => name.startsWith('list.'), connectionId: () => true }, 2, 1000);
    assert.deepEqual(allowedRun(limiter, 3, { name: 'list.a', connectionId: 'c1' }), [true, true, false]);
    assert.deepEqual(allowedRun(limiter, 2, { name: 'list.b', connectionId: 'c1' }), [true, true], 'per name');
    assert.deepEqual(allowedRun(limiter, 2, { name: 'list.a', connectionId: 'c2' }), [true, true], 'per connection');
    assert.deepEqual(allowedRun(limiter, 5, { name: 'other' }), [true, true, true, true, true], 'predicate false: not matched');
  });

  test('bucket keys do not collide across keys (Meteor concatenates key and value)', () => {
    const limiter = new RateLimiter({ now: manualClock().now });
    limiter.addRule({ name: () => true, connectionId: () => true }, 1, 1000);
    assert.equal(call(limiter, { name: 'ab', connectionId: 'c' }).allowed, true);
    assert.equal(call(limiter, { name: 'a', connectionId: 'bc' }).allowed, true);
  });

  test('replies: no rule → allowed, 0, Infinity; allowed → calls left and time to reset; refused → 0 left', () => {
    const clock = manualClock(1_000);
    const limiter = new RateLimiter({ now: clock.now, newId: () => 'r1' });
    assert.deepEqual(call(limiter), { allowed: true, timeToReset: 0, numInvocationsLeft: Infinity });
    limiter.addRule({ name: 'm' }, 2, 1000);
    clock.advance(100);
    assert.deepEqual(call(limiter), { allowed: true, timeToReset: 900, numInvocationsLeft: 1, ruleId: 'r1' });
    assert.deepEqual(call(limiter), { allowed: true, timeToReset: 900, numInvocationsLeft: 0, ruleId: 'r1' });
    clock.advance(300);
    assert.deepEqual(call(limiter), { allowed: false, timeToReset: 600, numInvocationsLeft: 0, ruleId: 'r1' });
  });

  test('the window runs from the rule\'s last reset; after more than timeInterval calls are allowed again', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ now: clock.now });
    limiter.addRule({ name: 'm' }, 1, 1000);
    assert.deepEqual(allowedRun(limiter, 2), [true, false]);
    clock.advance(1000);
    assert.equal(call(limiter).allowed, false, 'at exactly timeInterval the window still runs (Meteor: > intervalTime)');
    clock.advance(1);
    assert.equal(call(limiter).allowed, true, 'reset');
    clock.advance(500);
    const refused = call(limiter);
    assert.equal(refused.allowed, false);
    assert.equal(refused.timeToReset, 500, 'the new window started at the first call after expiry (t=1001)');
  });

  test('several matching rules: refused by any; the longest time to reset and that rule\'s id', () => {
    const clock = manualClock();
    let n = 0;
    const limiter = new RateLimiter({ now: clock.now, newId: () => `r${++n}` });
    limiter.addRule({ name: 'm' }, 1, 5000); // r1
    limiter.addRule({ connectionId: () => true }, 1, 1000); // r2
    limiter.addRule({ type: 'method' }, 100, 60_000); // r3, never refuses here
    assert.equal(call(limiter).allowed, true);
    const reply = call(limiter);
    assert.deepEqual(reply, { allowed: false, timeToReset: 5000, numInvocationsLeft: 0, ruleId: 'r1' });
    clock.advance(1001);
    assert.deepEqual(call(limiter, { name: 'x' }), { allowed: true, timeToReset: 1000, numInvocationsLeft: 0, ruleId: 'r2' });
  });

  test('removeRule: true once, false after; the rule\'s limit goes with it', () => {
    const limiter = new RateLimiter({ now: manualClock().now });
    const id = limiter.addRule({ name: 'm' }, 1, 1000);
    assert.deepEqual(allowedRun(limiter, 2), [true, false]);
    assert.equal(limiter.removeRule(id), true);
    assert.equal(limiter.removeRule(id), false);
    assert.equal(limiter.removeRule('no-such-rule'), false);
    assert.equal(call(limiter).allowed, true);
  });

  test('defaults as Meteor: 10 per 1000 ms for a missing or 0 count/interval; ids are unique', () => {
    const limiter = new RateLimiter({ now: manualClock().now });
    const a = limiter.addRule({ name: 'm' });
    const b = limiter.addRule({ name: 'n' }, 0, 0);
    assert.notEqual(a, b);
    assert.equal(a.length, 17, 'Random.id()-style id');
    assert.deepEqual(allowedRun(limiter, 11).lastIndexOf(true), 9);
  });

  test('invalid rules are refused before anything is added', () => {
    const limiter = new RateLimiter({ now: manualClock().now });
    assert.throws(() => limiter.addRule({ conectionId: 'x' } as never, 1, 1000), /Unknown rate limit matcher key 'conectionId'/);
    assert.throws(() => limiter.addRule({ name: 'm' }, -1, 1000), /numRequests/);
    assert.throws(() => limiter.addRule({ name: 'm' }, 1, Infinity), /timeInterval/);
    assert.throws(() => limiter.addRule(null as never, 1, 1000), /matcher must be an object/);
    assert.equal(limiter.ruleCount, 0);
  });

  test('callbacks get the reply and the input for each check; a throwing callback is reported, not thrown', () => {
    const seen: Array<[RateLimitResult, RateLimitInput]> = [];
    const errors: unknown[] = [];
    const limiter = new RateLimiter({ now: manualClock().now, newId: () => 'r', onCallbackError: (e) => errors.push(e) });
    limiter.addRule({ name: 'm' }, 1, 1000, (reply, i) => {
      seen.push([reply, i]);
      if (!reply.allowed) throw new Error('callback bug');
    });
    call(limiter);
    call(limiter);
    assert.deepEqual(seen.map(([r]) => r.allowed), [true, false]);
    assert.deepEqual(seen[0]![1], input());
    assert.equal(errors.length, 1);
  });

  test('bounded memory: an attacker cycling connection ids holds at most one window of counters', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ now: clock.now });
    limiter.addRule({ type: 'method', connectionId: () => true }, 20, 1000);
    limiter.addRule({ clientAddress: (address) => address !== null }, 1_000_000, 1000);
    let peak = 0;
    for (let window = 0; window < 50; window++) {
      for (let i = 0; i < 1000; i++) {
        call(limiter, { connectionId: `w${window}-c${i}` });
        clock.advance(1);
      }
      peak = Math.max(peak, limiter.counterCount);
      clock.advance(1); // past the window
    }
    // 50,000 distinct ids were counted; rule 1 held at most one window's ids, rule 2 one address.
    assert.ok(peak <= 1000 + 1, `peak ${peak} buckets`);
    clock.advance(2000);
    call(limiter, { name: 'other', connectionId: 'last' });
    assert.equal(limiter.counterCount, 2, 'run-out windows are dropped on the next call');
    clock.advance(2000);
    call(limiter, { type: 'subscription', clientAddress: null, connectionId: 'x' });
    assert.equal(limiter.counterCount, 0, 'a call matching neither rule still drops their expired buckets');
  });

  test('hit() (one pass) replies exactly as increment() then check()', () => {
    const build = () => {
      const clock = manualClock();
      let n = 0;
      const limiter = new RateLimiter({ now: clock.now, newId: () => `r${++n}` });
      limiter.addRule({ name: 'm', connectionId: () => true }, 3, 700);
      limiter.addRule({ type: 'method' }, 5, 1300);
      limiter.addRule({ clientAddress: (a) => a === '10.0.0.1' }, 4, 900);
      return { clock, limiter };
    };
    const one = build();
    const two = build();
    for (let i = 0; i < 300; i++) {
      const overrides = { name: i % 3 ? 'm' : 'n', connectionId: `c${i % 2}`, clientAddress: i % 5 ? '10.0.0.1' : null };
      assert.deepEqual(one.limiter.hit(input(overrides)), call(two.limiter, overrides), `call ${i}`);
      one.clock.advance(37);
      two.clock.advance(37);
    }
  });

  test('printRules shows each rule with its options, matchers and counters', () => {
    const clock = manualClock(5);
    const limiter = new RateLimiter({ now: clock.now, newId: () => 'r' });
    const matcher = { name: 'm', connectionId: () => true };
    limiter.addRule(matcher, 2, 3000);
    call(limiter);
    assert.deepEqual(limiter.rulesInfo(), {
      r: { id: 'r', options: { numRequestsAllowed: 2, intervalTime: 3000 }, matchers: matcher, lastResetTime: 5, counters: { '["m","c1"]': 1 } },
    });
  });
});

describe('DdpRateLimiter (Meteor ddp-rate-limiter.js)', () => {
  const caller = { id: 'session-1', clientAddress: '10.0.0.9' };

  function setup() {
    const clock = manualClock();
    const { log, logs } = captureLogger();
    const limiter = new DdpRateLimiter({ log, now: clock.now });
    return { clock, limiter, logs, api: limiter.api };
  }

  test('the default message, word for word, rounds the wait up to whole seconds', () => {
    assert.equal(
      defaultRateLimitErrorMessage({ timeToReset: 700 }),
      'Error, too many requests. Please slow down. You must wait 1 seconds before trying again.',
    );
    assert.equal(defaultRateLimitErrorMessage({ timeToReset: 1001 }).match(/wait (\d+) seconds/)![1], '2');
  });

  test('a refused call → Meteor.Error("too-many-requests", message, {timeToReset}), exact wire shape', () => {
    const { clock, limiter, api } = setup();
    api.addRule({ type: 'method', name: 'm', connectionId: () => true }, 1, 2000);
    assert.equal(limiter.limit('method', 'm', caller), null);
    clock.advance(500);
    const error = limiter.limit('method', 'm', caller)!;
    assert.ok(error instanceof MeteorError);
    const reason = 'Error, too many requests. Please slow down. You must wait 2 seconds before trying again.';
    assert.equal(
      JSON.stringify(error.toWire()),
      JSON.stringify({
        isClientSafe: true, error: 'too-many-requests', reason, details: { timeToReset: 1500 },
        message: `${reason} [too-many-requests]`, errorType: 'Meteor.Error',
      }),
    );
    assert.equal(limiter.limit('method', 'm', { id: 'session-2', clientAddress: null }), null, 'another connection is unaffected');
  });

  test('setErrorMessage: a string, then a function of the reply; setErrorMessageOnRule wins for its rule', () => {
    const { limiter, api } = setup();
    const ruleA = api.addRule({ name: 'a' }, 1, 1000);
    api.addRule({ name: 'b' }, 1, 1000);
    const refuse = (name: string) => {
      limiter.limit('method', name, caller);
      return limiter.limit('method', name, caller)!.reason!;
    };
    api.setErrorMessage('Slow down');
    assert.equal(refuse('a'), 'Slow down');
    api.setErrorMessage((reply) => `wait ${reply.timeToReset} ms (rule ${reply.ruleId === ruleA ? 'a' : '?'})`);
    assert.equal(refuse('a'), 'wait 1000 ms (rule a)');
    api.setErrorMessageOnRule(ruleA, 'rule a says no');
    assert.equal(refuse('a'), 'rule a says no');
    assert.match(refuse('b'), /^wait 1000 ms/);
    assert.equal(api.getErrorMessage({ allowed: false, timeToReset: 10, numInvocationsLeft: 0, ruleId: ruleA }), 'rule a says no');
  });

  test('a throwing message function falls back to the default message and is logged', () => {
    const { limiter, api, logs } = setup();
    const rule = api.addRule({ name: 'm' }, 1, 1000);
    api.setErrorMessage(() => {
      throw new Error('oops');
    });
    limiter.limit('method', 'm', caller);
    assert.match(limiter.limit('method', 'm', caller)!.reason!, /^Error, too many requests/);
    const failed = matching(logs, { level: 'error', message: 'message function failed', context: { rule } });
    assert.deepEqual(failed.map((r) => (r.context?.error as Error | undefined)?.message), ['oops'], describeLogs(logs));
  });

  test('refusals are counted by type and name, and logged once per rule per window', () => {
    const { clock, limiter, api, logs } = setup();
    api.addRule({ name: 'm', connectionId: () => true }, 1, 1000);
    api.addRule({ type: 'subscription', name: 's' }, 1, 1000);
    for (let i = 0; i < 10; i++) limiter.limit('method', 'm', caller);
    for (let i = 0; i < 3; i++) limiter.limit('subscription', 's', caller);
    assert.equal(limiter.rateLimitedCount.method.get('m'), 9);
    assert.equal(limiter.rateLimitedCount.subscription.get('s'), 2);
    const refusals = () => matching(logs, { level: 'warn', message: 'Rate limit exceeded' });
    assert.equal(refusals().length, 2, 'one per rule');
    assert.equal(matching(refusals().slice(0, 1), { context: { session: 'session-1', type: 'method', name: 'm' } }).length, 1, describeLogs(logs));
    clock.advance(1001);
    for (let i = 0; i < 5; i++) limiter.limit('method', 'm', caller);
    assert.equal(refusals().length, 3, 'one more in the new window');
    assert.equal(matching(refusals().slice(2), { context: { name: 'm', suppressedBefore: 8 } }).length, 1, describeLogs(logs));
  });

  test('no rules: nothing is counted or allocated', () => {
    const { limiter } = setup();
    assert.equal(limiter.limit('method', 'm', caller), null);
    assert.equal(limiter.counterCount, 0);
  });

  test('printRules and removeRule through the DDPRateLimiter object', () => {
    const { limiter, api } = setup();
    const id = api.addRule({ name: 'm' }, 1, 1000);
    assert.deepEqual(Object.keys(api.printRules()), [id]);
    limiter.limit('method', 'm', caller);
    assert.ok(limiter.limit('method', 'm', caller));
    assert.equal(api.removeRule(id), true);
    assert.equal(api.removeRule(id), false);
    assert.deepEqual(api.printRules(), {});
    assert.equal(limiter.limit('method', 'm', caller), null);
  });
});

// The limiter's clock is Date.now (read when the server is built), so only Date is mocked: sockets and their timers
// stay real, and the test moves the windows by hand instead of sleeping through them. With Date frozen, waits with
// a Date deadline (RawDdpClient.next) cannot time out: the suite's timeout turns a missing frame into a failure.
describe('rate limits on the wire (livedata_server.js)', { timeout: 30_000 }, () => {
  const WINDOW_MS = 1000;
  let server: TestServer;
  let methodRule = '';
  let subRule = '';
  /** Move the clock past the rule's window, so the next matching call starts a full one. */
  const freshWindow = (ruleId: string) => {
    const rule = server.meteor.DDPRateLimiter.printRules()[ruleId]!;
    const wait = rule.lastResetTime + rule.options.intervalTime + 2 - Date.now();
    if (wait > 0) mock.timers.tick(wait);
  };
  before(async () => {
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    server = await startTestServer((meteor) => {
      meteor.methods({
        limited: () => 'ok',
        free: () => 'free',
      });
      meteor.publish('limitedPub', function (this: { ready(): void }) {
        this.ready();
      });
      const { DDPRateLimiter } = meteor;
      methodRule = DDPRateLimiter.addRule({ type: 'method', name: 'limited', connectionId: () => true }, 2, WINDOW_MS);
      subRule = DDPRateLimiter.addRule({ type: 'subscription', name: 'limitedPub', connectionId: () => true }, 1, WINDOW_MS);
      DDPRateLimiter.addRule({ type: 'method', name: (name: string) => name.startsWith('counted.') }, 1, 60_000);
    });
  });
  after(async () => {
    await server.close();
    mock.timers.reset();
  });

  const expectedError = (timeToReset: number) => {
    const reason = `Error, too many requests. Please slow down. You must wait ${Math.ceil(timeToReset / 1000)} seconds before trying again.`;
    return `{"isClientSafe":true,"error":"too-many-requests","reason":"${reason}","details":{"timeToReset":${timeToReset}},"message":"${reason} [too-many-requests]","errorType":"Meteor.Error"}`;
  };

  test('a limited method: `updated` then `result` with too-many-requests (exact frames); other sessions unaffected; works again after timeToReset', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    const { client: other } = await RawDdpClient.connect(server.wsUrl);
    freshWindow(methodRule);
    for (const id of ['1', '2', '3']) client.send({ msg: 'method', id, method: 'limited', params: [] });
    const frames = [];
    for (let i = 0; i < 6; i++) frames.push(await client.next());
    assert.deepEqual(frames.slice(0, 4), [
      { msg: 'updated', methods: ['1'] }, { msg: 'result', id: '1', result: 'ok' },
      { msg: 'updated', methods: ['2'] }, { msg: 'result', id: '2', result: 'ok' },
    ]);
    // Meteor rejects the invocation promise; finish() arms the fence (`updated`) before the result goes.
    assert.deepEqual(frames[4], { msg: 'updated', methods: ['3'] });
    const timeToReset = (frames[5]!.error as { details: { timeToReset: number } }).details.timeToReset;
    assert.ok(timeToReset > 0 && timeToReset <= WINDOW_MS, `timeToReset ${timeToReset}`);
    assert.equal(client.rawFrames.at(-1), `{"msg":"result","id":"3","error":${expectedError(timeToReset)}}`);

    // Another session, same method, same window: served.
    other.send({ msg: 'method', id: 'o', method: 'limited', params: [] });
    await other.next();
    assert.deepEqual(await other.next(), { msg: 'result', id: 'o', result: 'ok' });
    // Same session, another method: served.
    client.send({ msg: 'method', id: 'f', method: 'free', params: [] });
    await client.next();
    assert.deepEqual(await client.next(), { msg: 'result', id: 'f', result: 'free' });

    mock.timers.tick(timeToReset + 1);
    client.send({ msg: 'method', id: '4', method: 'limited', params: [] });
    await client.next();
    assert.deepEqual(await client.next(), { msg: 'result', id: '4', result: 'ok' });
    assert.ok((server.ddp.rateLimitedCount.method.get('limited') ?? 0) >= 1);
    client.close();
    other.close();
  });

  test('a limited sub: one `nosub` with too-many-requests (exact frame), nothing else; a repeated id is not counted; works again after timeToReset', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    const { client: other } = await RawDdpClient.connect(server.wsUrl);
    freshWindow(subRule);
    client.send({ msg: 'sub', id: 'a', name: 'limitedPub' });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['a'] });
    client.send({ msg: 'sub', id: 'a', name: 'limitedPub' }); // ignored before counting, as in Meteor
    client.send({ msg: 'sub', id: 'b', name: 'limitedPub' });
    const nosub = await client.next();
    assert.equal(nosub.msg, 'nosub');
    const timeToReset = (nosub.error as { details: { timeToReset: number } }).details.timeToReset;
    assert.equal(client.rawFrames.at(-1), `{"msg":"nosub","id":"b","error":${expectedError(timeToReset)}}`);
    // A method handled after both subs: nothing but its own answer follows the nosub.
    const afterNosub = client.frames.length;
    const result = await client.call('free');
    assert.deepEqual(client.frames.slice(afterNosub).map((f) => f.msg), ['updated', 'result']);
    assert.equal(result.result, 'free');

    other.send({ msg: 'sub', id: 'a', name: 'limitedPub' });
    assert.deepEqual(await other.next(), { msg: 'ready', subs: ['a'] });

    mock.timers.tick(timeToReset + 1);
    client.send({ msg: 'sub', id: 'b', name: 'limitedPub' });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['b'] }, 'the refused id can be used again');
    assert.ok((server.ddp.rateLimitedCount.subscription.get('limitedPub') ?? 0) >= 1);
    client.close();
    other.close();
  });

  test('an unknown method is answered 404 and never counted', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    for (let i = 0; i < 3; i++) {
      client.send({ msg: 'method', id: `n${i}`, method: 'counted.nope', params: [] });
      assert.equal(((await client.next()).error as { error: unknown }).error, 404);
      await client.next();
    }
    client.close();
  });

  test('a flood is logged once per rule per window, not per call', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    const refusalsLogged = () => matching(server.logs, { level: 'warn', message: 'Rate limit exceeded', context: { session, type: 'method', name: 'limited' } });
    freshWindow(methodRule);
    for (let i = 0; i < 30; i++) client.send({ msg: 'method', id: `x${i}`, method: 'limited', params: [] });
    await client.until((f) => f.msg === 'result' && f.id === 'x29');
    const refused = client.frames.filter((f) => f.msg === 'result' && f.error).length;
    assert.ok(refused >= 20, `${refused} refused`);
    const logged = refusalsLogged().length;
    assert.equal(logged, 1, `${logged} log records for ${refused} refusals:\n${describeLogs(server.logs)}`);
    client.close();
  });
});
