import fc from 'fast-check';
import { after, before, describe, test } from 'node:test';
import { FuzzTarget } from './fuzz-target';
import { fuzzProperty, knownCrashCases } from './properties';
import { TRANSPORTS } from './transports';

/**
 * Issue 9: property-based fuzzing of every DDP transport against the real app
 * in a child process, bounded for `npm test` (about 25 s in all: a time budget
 * per transport, checked by fast-check between cases). The seed is fixed for
 * reproducibility and printed; FUZZ_SEED varies it, and a failure prints the
 * FUZZ_SEED, FUZZ_PATH and FUZZ_TRANSPORT that replay its counterexample.
 * `npm run fuzz -- --minutes N` runs the same properties for longer with
 * random seeds.
 */
// fast-check seeds are 32-bit signed integers.
const SEED = (process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x1d0f_2024) | 0;
const PATH = process.env.FUZZ_PATH || undefined;
const ONLY = process.env.FUZZ_TRANSPORT || undefined;
/**
 * For all four transports: with start-up, the case in flight at each
 * deadline and teardown, the file stays under 30 s on 2 shared cores. Each
 * transport gets an equal share of what is left when it starts.
 */
const SUITE_BUDGET_MS = 21_000;

describe('DDP fuzz (fast-check), the app as a child process', () => {
  let target: FuzzTarget;
  const deadline = Date.now() + SUITE_BUDGET_MS;
  let transportsLeft = TRANSPORTS.filter((t) => !ONLY || t === ONLY).length;
  before(async () => {
    target = await FuzzTarget.start();
    process.stdout.write(`# fuzz seed ${SEED} (set FUZZ_SEED to change it), app pid ${target.pid}\n`);
  });
  after(async () => {
    await target.stop();
    if (target.crashes.length) process.stdout.write(`# the app crashed ${target.crashes.length} time(s) during the fuzz\n`);
  });

  for (const transport of TRANSPORTS) {
    const skip = ONLY && ONLY !== transport ? `FUZZ_TRANSPORT=${ONLY} selects another transport` : false;
    test(`${transport}: hostile frames never crash, hang, leak or break the wire contract`, { timeout: SUITE_BUDGET_MS, skip }, async () => {
      const budgetMs = Math.max(1000, Math.floor((deadline - Date.now()) / transportsLeft--));
      const details = await fc.check(fuzzProperty(target, transport), {
        seed: SEED,
        path: PATH,
        numRuns: 10_000,
        // Always given, also when replaying: a path counts them.
        examples: knownCrashCases(transport, target.options.maxFrameBytes).map((c) => [c] as [typeof c]),
        // Stops new cases (and shrinking) at the budget; a case in flight finishes.
        plugins: [fc.interruptAfterTimeLimit(budgetMs)],
      });
      await target.idle(); // the case in flight at the time limit
      process.stdout.write(`# ${transport}: ${details.numRuns} cases in ${budgetMs} ms budget, seed ${details.seed}${details.interrupted ? ' (time budget reached)' : ''}\n`);
      if (details.failed) {
        const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        const replay = `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} FUZZ_TRANSPORT=${transport} node --import tsx --test tests/fuzz/ddp-fuzz.test.ts`;
        throw new Error(`${fc.defaultReportMessage(details) ?? 'fuzz property failed'}\n\nReplay: ${replay}\n\nFailure of the shrunk counterexample:\n${error}`);
      }
    });
  }
});
