import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PRESENCE_NAMES } from '../../imports/app/presence';
import { defaultPresenceRateLimits, registerPresenceRateLimits, type PresenceRateLimitMatcher } from '../../imports/app/rate-limits';
import { BRIDGE_STATUS_PUBLICATION } from '../../imports/composition/bridge-status-publication';
import { MONITOR_TOKEN, startAppForTest, waitFor } from '../helpers/app-test-server';
import { describeLogs, matching } from '../helpers/capture-logger';
import { RawDdpClient } from '../helpers/raw-ddp-client';

describe('presence rate limits (imports/app/rate-limits.ts)', () => {
  test('one rule per method and publication, per connection, in Meteor\'s matcher shape', () => {
    const added: Array<[PresenceRateLimitMatcher, number, number]> = [];
    const ids = registerPresenceRateLimits({ addRule: (m, n, t) => (added.push([m, n, t]), `rule-${added.length}`) });
    assert.deepEqual(
      added.map(([m, n, t]) => [m.type, m.name, typeof m.connectionId, n, t]),
      [
        ['method', PRESENCE_NAMES.getSessionIdMethod, 'function', 20, 1000],
        ['method', PRESENCE_NAMES.roleMethod, 'function', 20, 1000],
        ['subscription', PRESENCE_NAMES.listPublication, 'function', 20, 1000],
        ['subscription', PRESENCE_NAMES.countPublication, 'function', 20, 1000],
        ['subscription', PRESENCE_NAMES.statsPublication, 'function', 20, 1000],
        ['subscription', PRESENCE_NAMES.bridgeStatusPublication, 'function', 20, 1000],
        ['subscription', PRESENCE_NAMES.peoplePublication, 'function', 20, 1000],
        ['method', PRESENCE_NAMES.setIdleMethod, 'function', 20, 10_000],
      ],
    );
    assert.equal(added[0]![0].connectionId('any'), true);
    assert.deepEqual(Object.keys(ids), Object.keys(defaultPresenceRateLimits));
  });

  test('overrides by name; null drops a rule; unknown names and bad limits throw before any rule is added', () => {
    const added: string[] = [];
    const registry = { addRule: (m: PresenceRateLimitMatcher) => (added.push(m.name), m.name) };
    registerPresenceRateLimits(registry, { [PRESENCE_NAMES.roleMethod]: null, [PRESENCE_NAMES.getSessionIdMethod]: { numRequests: 5, timeIntervalMs: 10_000 } });
    assert.deepEqual(added, [
      PRESENCE_NAMES.getSessionIdMethod,
      PRESENCE_NAMES.listPublication,
      PRESENCE_NAMES.countPublication,
      PRESENCE_NAMES.statsPublication,
      PRESENCE_NAMES.bridgeStatusPublication,
      PRESENCE_NAMES.peoplePublication,
      PRESENCE_NAMES.setIdleMethod,
    ]);
    added.length = 0;
    assert.throws(() => registerPresenceRateLimits(registry, { nope: null } as never), /No presence rate limit named 'nope'/);
    assert.throws(() => registerPresenceRateLimits(registry, { [PRESENCE_NAMES.countPublication]: { numRequests: 0, timeIntervalMs: 1000 } }), /positive integer/);
    assert.deepEqual(added, []);
  });

  test('the real app: 1,000 rapid getSessionId calls on one connection are limited; another connection still gets answers', async () => {
    const app = await startAppForTest();
    try {
      const { client: flooder, session: flooderSession } = await RawDdpClient.connect(app.wsUrl);
      const { client: bystander, session: bystanderSession } = await RawDdpClient.connect(app.wsUrl);
      const started = Date.now();
      for (let i = 0; i < 1000; i++) flooder.send({ msg: 'method', id: `f${i}`, method: PRESENCE_NAMES.getSessionIdMethod, params: [] });
      bystander.send({ msg: 'method', id: 'b', method: PRESENCE_NAMES.getSessionIdMethod, params: [] });
      assert.equal((await bystander.until((f) => f.msg === 'result')).result, bystanderSession);
      await flooder.until((f) => f.msg === 'result' && f.id === 'f999', 10_000);
      const elapsed = Date.now() - started;
      const results = flooder.frames.filter((f) => f.msg === 'result');
      const answered = results.filter((f) => 'result' in f).length;
      const refused = results.filter((f) => (f.error as { error?: string } | undefined)?.error === 'too-many-requests');
      assert.equal(answered + refused.length, 1000);
      // 20 per window; the run may straddle a window boundary or two on a slow machine.
      assert.ok(answered >= 20 && answered <= 20 * (Math.ceil(elapsed / 1000) + 1), `${answered} answered in ${elapsed} ms`);
      assert.match(
        (refused[0]!.error as { reason: string }).reason,
        /^Error, too many requests\. Please slow down\. You must wait 1 seconds before trying again\.$/,
      );
      assert.equal(app.ddp.rateLimitedCount.method.get(PRESENCE_NAMES.getSessionIdMethod), refused.length);
      const limitLogs = matching(app.logs, { message: 'Rate limit exceeded' });
      assert.ok(limitLogs.length <= Math.ceil(elapsed / 1000) + 1, `logged per window, not per call: ${describeLogs(limitLogs)}`);
      const flooderLogs = matching(limitLogs, { level: 'warn', context: { session: flooderSession, type: 'method', name: PRESENCE_NAMES.getSessionIdMethod } });
      assert.ok(flooderLogs.length >= 1, `the flooder's refusals are logged as a warning: ${describeLogs(app.logs)}`);

      // Subscriptions too: the 21st `sub` of the count in a window gets nosub.
      for (let i = 0; i < 30; i++) bystander.send({ msg: 'sub', id: `c${i}`, name: PRESENCE_NAMES.countPublication });
      await bystander.until((f) => f.msg === 'nosub' && (f.error as { error?: string } | undefined)?.error === 'too-many-requests');
      flooder.close();
      bystander.close();
    } finally {
      await app.close();
    }
  });

  test('the monitor publications presence.stats and presence.bridgeStatus: the 21st sub in a window gets nosub; another connection is served', async () => {
    const app = await startAppForTest();
    try {
      assert.equal(PRESENCE_NAMES.bridgeStatusPublication, BRIDGE_STATUS_PUBLICATION, 'the rule covers the name the composition publishes');
      const { client: looper } = await RawDdpClient.connect(app.wsUrl);
      const { client: bystander } = await RawDdpClient.connect(app.wsUrl);
      const SUBS = 100;
      for (const name of [PRESENCE_NAMES.statsPublication, PRESENCE_NAMES.bridgeStatusPublication]) {
        const ours = (id: unknown) => typeof id === 'string' && id.startsWith(`${name}#`);
        const answers = () => ({
          ready: looper.frames.filter((f) => f.msg === 'ready' && (f.subs as string[]).some(ours)).flatMap((f) => (f.subs as string[]).filter(ours)).length,
          refused: looper.frames.filter((f) => f.msg === 'nosub' && ours(f.id) && (f.error as { error?: string } | undefined)?.error === 'too-many-requests').length,
        });
        const started = Date.now();
        for (let i = 0; i < SUBS; i++) looper.send({ msg: 'sub', id: `${name}#${i}`, name, params: [{ token: MONITOR_TOKEN }] });
        await waitFor(() => answers().ready + answers().refused === SUBS, 5000, `${name}: every sub answered`);
        const elapsed = Date.now() - started;
        const { ready, refused } = answers();
        // 20 per window; the burst may straddle a window boundary or two on a slow machine.
        assert.ok(ready >= 20 && ready <= 20 * (Math.ceil(elapsed / 1000) + 1), `${name}: ${ready} of ${SUBS} served in ${elapsed} ms`);
        assert.equal(app.ddp.rateLimitedCount.subscription.get(name), refused);
        bystander.send({ msg: 'sub', id: `b-${name}`, name, params: [{ token: MONITOR_TOKEN }] });
        const answer = await bystander.until((f) => (f.msg === 'ready' && (f.subs as string[])[0] === `b-${name}`) || (f.msg === 'nosub' && f.id === `b-${name}`));
        assert.equal(answer.msg, 'ready', `${name}: another connection has its own counter`);
      }
      looper.close();
      bystander.close();
    } finally {
      await app.close();
    }
  });

  test('rateLimits: false registers no rule', async () => {
    const app = await startAppForTest({}, { rateLimits: false });
    try {
      assert.deepEqual(app.meteor.DDPRateLimiter.printRules(), {});
    } finally {
      await app.close();
    }
  });
});
