import fc from 'fast-check';
import { after, before, describe, test } from 'node:test';
import type { FuzzCase } from './arbitraries';
import { FuzzTarget } from './fuzz-target';
import { fuzzProperty, knownCrashCases } from './properties';
import { TRANSPORTS } from './transports';

/**
 * Issue 9: property-based fuzzing (fast-check) of every DDP transport against
 * the real app in a child process; the properties are in properties.ts.
 * Bounded for `npm test`: the file takes about 25 s, each transport getting
 * an equal share of a 21 s budget (fast-check stops starting cases at its
 * share; the case in flight finishes). Every run starts with the crashes
 * found before (knownCrashCases), then random cases from a fixed seed,
 * printed with each result; FUZZ_SEED changes it. A failure prints the
 * FUZZ_SEED, FUZZ_PATH and FUZZ_TRANSPORT that replay its counterexample.
 * `npm run fuzz -- --minutes N` runs the same properties longer, with
 * random seeds (scripts/fuzz.ts).
 */
// fast-check seeds are 32-bit signed integers.
const SEED = (process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x1d0f_2024) | 0;
const PATH = process.env.FUZZ_PATH || undefined;
const ONLY = process.env.FUZZ_TRANSPORT || undefined;
const SUITE_BUDGET_MS = 21_000;

describe('DDP fuzz (fast-check), the app as a child process', () => {
  let target: FuzzTarget;
  const deadline = Date.now() + SUITE_BUDGET_MS;
  let transportsLeft = TRANSPORTS.filter((t) => !ONLY || t === ONLY).length;
  before(async () => (target = await FuzzTarget.start()));
  after(() => target.stop());

  for (const transport of TRANSPORTS) {
    const skip = ONLY && ONLY !== transport ? `FUZZ_TRANSPORT=${ONLY} selects another transport` : false;
    test(`${transport}: hostile frames never crash, hang, leak or break the wire contract`, { timeout: SUITE_BUDGET_MS, skip }, async (t) => {
      const budgetMs = Math.max(1000, Math.floor((deadline - Date.now()) / transportsLeft--));
      const crashesBefore = target.crashes.length;
      const details = await fc.check(fuzzProperty(target, transport), {
        seed: SEED,
        path: PATH,
        numRuns: 10_000,
        // Always given, also when replaying: a path counts them.
        examples: knownCrashCases(transport, target.options.maxFrameBytes).map((c): [FuzzCase] => [c]),
        plugins: [fc.interruptAfterTimeLimit(budgetMs)],
      });
      await target.idle(); // the case in flight at the time limit
      await target.ensureRunning(); // a crash counts here, and the next transport starts on a live app
      const crashes = target.crashes.length - crashesBefore;
      t.diagnostic(`seed ${details.seed}: ${details.numRuns} cases in a ${budgetMs} ms budget${details.interrupted ? ' (budget reached)' : ''}, app pid ${target.pid}${crashes ? `, ${crashes} crash(es)` : ''}`);
      if (details.failed) {
        const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        const replay = `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} FUZZ_TRANSPORT=${transport} node --import tsx --test tests/fuzz/ddp-fuzz.test.ts`;
        throw new Error(`${fc.defaultReportMessage(details) ?? 'fuzz property failed'}\n\nReplay: ${replay}\n\nFailure of the shrunk counterexample:\n${error}`);
      }
    });
  }
});
