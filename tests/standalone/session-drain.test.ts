import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { drainSessions, type DrainTarget } from '../../imports/standalone/session-drain';

/** N sessions; records when each was closed (ms since the drain began). */
function fakeTarget(n: number): DrainTarget & { closedAt: number[]; leaveOnTheirOwn(k: number): void } {
  let open = n;
  const startedAt = Date.now();
  const closedAt: number[] = [];
  return {
    closedAt,
    get sessionCount() {
      return open;
    },
    closeSessions(count) {
      const k = Math.min(count, open);
      for (let i = 0; i < k; i++) closedAt.push(Date.now() - startedAt);
      open -= k;
      return k;
    },
    leaveOnTheirOwn(k) {
      open -= k;
    },
  };
}

describe('drainSessions', () => {
  test('closes sessions spread evenly over drainMs, in small batches', async () => {
    const target = fakeTarget(1000);
    const result = await drainSessions(target, { drainMs: 500, tickMs: 10 });
    assert.equal(result.total, 1000);
    assert.equal(result.closed, 1000);
    assert.ok(result.elapsedMs >= 500 && result.elapsedMs < 700, `elapsed ${result.elapsedMs}`);
    const tenths = new Array<number>(10).fill(0);
    for (const at of target.closedAt) tenths[Math.min(9, Math.floor(at / 50))]!++;
    for (const count of tenths) assert.ok(count <= 200, `a tenth holds ${count} of 1000: ${tenths}`);
  });

  test('drainMs 0 (or no sessions) closes everything at once', async () => {
    const target = fakeTarget(50);
    assert.deepEqual({ ...(await drainSessions(target, { drainMs: 0, tickMs: 10 })), elapsedMs: 0 }, { total: 50, closed: 50, elapsedMs: 0 });
    const empty = await drainSessions(fakeTarget(0), { drainMs: 10_000, tickMs: 10 });
    assert.ok(empty.elapsedMs < 50);
  });

  test('ends early when every session has left, even those that left on their own', async () => {
    const target = fakeTarget(100);
    setTimeout(() => target.leaveOnTheirOwn(target.sessionCount), 100);
    const result = await drainSessions(target, { drainMs: 5_000, tickMs: 10 });
    assert.ok(result.elapsedMs < 500, `elapsed ${result.elapsedMs}`);
    assert.ok(result.closed < 100);
  });
});
