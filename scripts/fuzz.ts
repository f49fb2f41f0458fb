/**
 * `npm run fuzz -- --minutes N`: the properties of tests/fuzz/ddp-fuzz.test.ts
 * for N minutes, round after round over the four transports, each round with
 * a fresh random seed. Prints every seed and the app's RSS after each round;
 * on the first failure prints the shrunk counterexample and the commands
 * that replay it, and exits 1.
 *
 * Options: --minutes N (default 5); --round-seconds S (one transport's
 * round, default 60); --shrink-seconds S (more time to shrink a failure
 * found late in a round, default 120); --transport NAME (only that one);
 * --seed S (the first round's seed); --path P with --seed and --transport
 * (replay one counterexample, then shrink it further); --max-frame-bytes B
 * (the app's DDP_MAX_FRAME_BYTES, default 16384); --rss-headroom-mb M (how
 * far RSS may grow over the app's baseline, default 256: twice the bounded
 * suite's, because under minutes of nonstop xhr cases RSS levels off about
 * 150 MB up, SockJS keeping each closed xhr session for its 60 s
 * disconnect delay; a leak keeps climbing past that).
 * Example: `npm run fuzz -- --minutes 30 --transport sockjs-xhr`.
 */
import fc from 'fast-check';
import { parseArgs } from 'node:util';
import type { FuzzCase } from '../tests/fuzz/arbitraries';
import { defaultFuzzTargetOptions, FuzzTarget } from '../tests/fuzz/fuzz-target';
import { fuzzProperty, knownCrashCases } from '../tests/fuzz/properties';
import { connectionCount } from '../tests/fuzz/bystander';
import { TRANSPORTS, type TransportName } from '../tests/fuzz/transports';

const USAGE =
  'usage: npm run fuzz -- [--minutes N] [--round-seconds S] [--shrink-seconds S] [--transport NAME] [--seed S [--path P]] [--max-frame-bytes B] [--rss-headroom-mb M]\n' +
  `transports: ${TRANSPORTS.join(', ')}\n`;

function usageError(message: string): never {
  process.stderr.write(`${message}\n${USAGE}`);
  process.exit(2);
}

function parseCommandLine() {
  try {
    return parseArgs({
      strict: true,
      allowPositionals: false,
      options: {
        minutes: { type: 'string', default: '5' },
        'round-seconds': { type: 'string', default: '60' },
        'shrink-seconds': { type: 'string', default: '120' },
        transport: { type: 'string' },
        seed: { type: 'string' },
        path: { type: 'string' },
        'max-frame-bytes': { type: 'string', default: String(defaultFuzzTargetOptions.maxFrameBytes) },
        'rss-headroom-mb': { type: 'string', default: '256' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
}

const { values } = parseCommandLine();

if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function positiveNumber(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) usageError(`--${name} must be a positive number, got '${raw}'`);
  return value;
}

function seedOf(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value)) usageError(`--seed must be an integer, got '${raw}'`);
  return value | 0; // fast-check seeds are 32-bit signed integers
}

const minutes = positiveNumber('minutes', values.minutes);
const roundMs = positiveNumber('round-seconds', values['round-seconds']) * 1000;
const shrinkMs = positiveNumber('shrink-seconds', values['shrink-seconds']) * 1000;
const maxFrameBytes = Math.round(positiveNumber('max-frame-bytes', values['max-frame-bytes']));
const rssHeadroomBytes = positiveNumber('rss-headroom-mb', values['rss-headroom-mb']) * 2 ** 20;
if (values.transport !== undefined && !TRANSPORTS.includes(values.transport as TransportName)) {
  usageError(`--transport must be one of ${TRANSPORTS.join(', ')}, got '${values.transport}'`);
}
if (values.path !== undefined && (values.seed === undefined || values.transport === undefined)) {
  usageError('--path replays one counterexample: give --seed and --transport too');
}
const transports = values.transport ? [values.transport as TransportName] : [...TRANSPORTS];
const firstSeed = values.seed === undefined ? undefined : seedOf(values.seed);

const target = await FuzzTarget.start({ maxFrameBytes, rssHeadroomBytes });
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
let totalCases = 0;
let failure: { transport: TransportName; details: fc.RunDetails<[FuzzCase]> } | null = null;

/** RSS and open connections, for spotting leaks round by round. */
async function appState(): Promise<string> {
  if (!target.isAlive()) return 'app exited';
  const connections = await connectionCount(target.url).catch((error: Error) => `unknown (${error.message})`);
  return `app RSS ${mib(target.rssBytes())} MiB (baseline ${mib(target.baselineRssBytes)} MiB), ${connections} connections open`;
}

/** One fast-check run; every run starts with the known crashes, so a path counts them too. */
async function check(transport: TransportName, seed: number, timeLimitMs: number, path?: string): Promise<fc.RunDetails<[FuzzCase]>> {
  const details = await fc.check(fuzzProperty(target, transport), {
    seed,
    path,
    numRuns: Number.MAX_SAFE_INTEGER,
    examples: knownCrashCases(transport, maxFrameBytes).map((c): [FuzzCase] => [c]),
    plugins: [fc.interruptAfterTimeLimit(timeLimitMs)],
  });
  await target.idle(); // the case in flight at the time limit
  // fast-check types plugins as Plugin<unknown>, which widens the details' type.
  return details as fc.RunDetails<[FuzzCase]>;
}

/** A failure found late in a round had its shrinking cut short: replaying its seed and path resumes it. */
async function shrinkFurther(transport: TransportName, found: fc.RunDetails<[FuzzCase]>): Promise<fc.RunDetails<[FuzzCase]>> {
  if (!found.failed || !found.counterexamplePath) return found;
  process.stdout.write(`shrinking up to ${shrinkMs / 1000} s more … `);
  const resumed = await check(transport, found.seed, shrinkMs, found.counterexamplePath);
  return resumed.failed ? resumed : found; // did not fail again (flaky): keep what failed
}

try {
  if (values.path !== undefined) {
    const transport = transports[0]!;
    process.stdout.write(`replaying ${transport} seed ${firstSeed} path ${values.path} (app pid ${target.pid}) … `);
    const replayed = await check(transport, firstSeed!, shrinkMs, values.path);
    const details = replayed.failed && replayed.interrupted ? await shrinkFurther(transport, replayed) : replayed;
    process.stdout.write(details.failed ? 'FAILED\n' : 'passed\n');
    if (details.failed) failure = { transport, details };
  } else {
    const deadline = Date.now() + minutes * 60_000;
    process.stdout.write(`fuzzing ${transports.join(', ')} for ${minutes} min (app pid ${target.pid}, maxFrameBytes ${maxFrameBytes})\n`);
    let seed = firstSeed;
    outer: for (let round = 0; ; round++) {
      for (const transport of transports) {
        const left = deadline - Date.now();
        if (left <= 0) break outer;
        seed ??= (Math.random() * 2 ** 32) | 0;
        process.stdout.write(`round ${round} ${transport}: seed ${seed}, ${Math.round(Math.min(roundMs, left) / 1000)} s … `);
        let details = await check(transport, seed, Math.min(roundMs, left));
        seed = undefined;
        totalCases += details.numRuns;
        if (details.failed && details.interrupted) details = await shrinkFurther(transport, details);
        process.stdout.write(`${details.numRuns} cases, ${details.failed ? 'FAILED' : 'ok'}; ${await appState()}\n`);
        if (details.failed) {
          failure = { transport, details };
          break outer;
        }
      }
    }
  }
} finally {
  await target.stop();
}

if (failure) {
  const { transport, details } = failure;
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  process.stdout.write(`\n${fc.defaultReportMessage(details)}\n\nFailure of the shrunk counterexample:\n${error}\n\nReplay:\n`);
  process.stdout.write(`  npm run fuzz -- --transport ${transport} --seed ${details.seed} --path ${details.counterexamplePath} --max-frame-bytes ${maxFrameBytes}\n`);
  if (maxFrameBytes === defaultFuzzTargetOptions.maxFrameBytes) {
    process.stdout.write(`  FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} FUZZ_TRANSPORT=${transport} node --import tsx --test tests/fuzz/ddp-fuzz.test.ts\n`);
  }
}
process.stdout.write(`${failure ? 'FAILED' : 'passed'}: ${totalCases} cases, ${target.starts} app start(s), ${target.crashes.length} crash(es)\n`);
process.exit(failure ? 1 : 0);
