import { readFileSync } from 'node:fs';
import { spawnApp, type AppProcess } from '../helpers/app-process';
import { freshClientGetsSessionId } from './bystander';

/**
 * The app under fuzz: the real `npm start` entry point as a child process
 * (tests/helpers/app-process.ts), so a crash is a process exit the fuzzer can
 * report, not a dead test runner. A crashed app is replaced before the next
 * case, which lets fast-check shrink a crashing input; after the first crash
 * a warmed-up spare waits, so each shrink step does not pay a start-up.
 *
 * Example:
 *   const target = await FuzzTarget.start({ maxFrameBytes: 16384 });
 *   await target.ensureRunning(); …send frames… await target.assertHealthy();
 * Caveat: RSS is compared with the level measured after start-up and a warm-up
 * client, per process; a replacement has its own baseline.
 */
export interface FuzzTargetOptions {
  /** DDP_MAX_FRAME_BYTES for the child; small keeps oversize frames cheap. */
  maxFrameBytes: number;
  /** RSS may grow this far above the post-start baseline. */
  rssHeadroomBytes: number;
  /** A fresh client must finish connect + getSessionId within this. */
  healthTimeoutMs: number;
  /** Extra environment for the child. */
  env?: Record<string, string>;
}

export const defaultFuzzTargetOptions: FuzzTargetOptions = {
  maxFrameBytes: 16 * 1024,
  rssHeadroomBytes: 128 * 1024 * 1024,
  healthTimeoutMs: 2000,
};

/** One started child. */
interface Instance {
  app: AppProcess;
  /** Resolves once the child has exited and its output is complete. */
  closed: Promise<void>;
  baselineRss: number;
}

export class FuzzTarget {
  private current: Instance | null = null;
  private spare: Promise<Instance> | null = null;
  private stopped = false;
  private starting: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Processes started, spares included. */
  starts = 0;
  /** Exits seen (crashes), each with the last lines the process wrote. */
  readonly crashes: string[] = [];

  private constructor(readonly options: FuzzTargetOptions) {}

  static async start(options: Partial<FuzzTargetOptions> = {}): Promise<FuzzTarget> {
    const target = new FuzzTarget({ ...defaultFuzzTargetOptions, ...options });
    await target.ensureRunning();
    return target;
  }

  get url(): string {
    if (!this.current) throw new Error('app not started');
    return this.current.app.url;
  }

  get pid(): number | undefined {
    return this.current?.app.child.pid;
  }

  /**
   * Whether the child runs. Node learns of an exit a little after the kernel
   * does, so /proc is asked too: a dead child is a zombie (state Z) until reaped.
   */
  isAlive(): boolean {
    return !!this.current && instanceAlive(this.current);
  }

  /**
   * After a failure that a crash may explain: resolves once the child has exited, or after `ms` if it has not
   * (a hang). A crash is reported as soon as its exit lands; only a live process costs the full wait.
   */
  async exitWithin(ms: number): Promise<void> {
    if (!this.current) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.current.closed, new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** null while the app runs; else, once its output is complete, how it ended. */
  async deathReport(): Promise<string | null> {
    if (this.isAlive() || !this.current) return null;
    await Promise.race([this.current.closed, new Promise((r) => setTimeout(r, 2000))]);
    return this.exitReport();
  }

  /**
   * Run one fuzz case, tracked: fast-check's time limit abandons a case in
   * flight rather than stopping it, so callers `await idle()` before moving on.
   */
  track<T>(run: Promise<T>): Promise<T> {
    this.inFlight.add(run);
    const untrack = () => void this.inFlight.delete(run);
    run.then(untrack, untrack);
    return run;
  }

  /** Resolves when no tracked case is running. */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Have a running app: the first start, or a replacement after a crash. */
  async ensureRunning(): Promise<void> {
    if (this.stopped) throw new Error('fuzz target stopped');
    if (this.isAlive()) return;
    this.starting ??= this.replace().finally(() => (this.starting = null));
    await this.starting;
  }

  private async replace(): Promise<void> {
    if (this.current) {
      this.crashes.push((await this.deathReport()) ?? this.exitReport());
      // Crashes come in runs while shrinking: from now on keep a spare warm.
      this.spare ??= this.startSpare();
    }
    let next = this.spare ? await this.spare.catch(() => null) : null;
    this.spare = null;
    if (!next || !instanceAlive(next)) next = await this.startInstance();
    this.current = next;
    if (this.crashes.length) this.spare = this.startSpare();
  }

  private startSpare(): Promise<Instance> {
    const spare = this.startInstance();
    spare.catch(() => {}); // awaited (and its failure handled) when needed
    return spare;
  }

  private async startInstance(): Promise<Instance> {
    const app = await spawnApp({
      DDP_MAX_FRAME_BYTES: String(this.options.maxFrameBytes),
      // SockJS xhr has no client-side close: a connected session the fuzzer
      // abandons lives until its heartbeat gives up. At 1 s + 1 s they end
      // within ~2 s instead of 30 s, so RSS measures leaks, not a backlog of
      // thousands of idle sessions (pings in cases add coverage too).
      DDP_HEARTBEAT_INTERVAL_MS: '1000',
      DDP_HEARTBEAT_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'info',
      MQTT_URL: '',
      MONGO_URL: '',
      PRESENCE_MONITOR_TOKEN: 'test-monitor-token',
      ...this.options.env,
    });
    this.starts++;
    const closed = new Promise<void>((resolve) => app.child.once('close', () => resolve()));
    if (this.stopped) {
      await app.kill('SIGKILL');
      throw new Error('fuzz target stopped');
    }
    // Warm up (the first requests load code paths) before taking the RSS baseline.
    await freshClientGetsSessionId(app.url, 5000);
    return { app, closed, baselineRss: rssOf(app.child.pid) };
  }

  /** RSS of the current process after its warm-up. */
  get baselineRssBytes(): number {
    return this.current?.baselineRss ?? 0;
  }

  /** The child's resident set size, from /proc/<pid>/status (VmRSS); 0 once it is gone. */
  rssBytes(): number {
    return rssOf(this.pid);
  }

  /** How the process ended, with the last lines it wrote (the stack of a crash). */
  exitReport(): string {
    const child = this.current?.app.child;
    const tail = (this.current?.app.output ?? []).slice(-20).join('\n');
    return `app process ${child?.pid} exited (code ${child?.exitCode}, signal ${child?.signalCode}); last output:\n${tail}`;
  }

  /**
   * After a batch: the process is alive, its RSS is within the bound, and a
   * fresh client completes `connect` and gets its own session id back.
   */
  async assertHealthy(): Promise<void> {
    // The app logs every connection; keep only recent lines (a crash's stack is among the last).
    const output = this.current?.app.output;
    if (output && output.length > 2000) output.splice(0, output.length - 200);
    // A crash caused by the batch may still be unwinding; give the exit a moment to land.
    await new Promise((r) => setImmediate(r));
    let dead = await this.deathReport();
    if (dead) throw new Error(dead);
    const rss = this.rssBytes();
    const bound = this.current!.baselineRss + this.options.rssHeadroomBytes;
    if (rss > bound) {
      throw new Error(`app RSS ${mib(rss)} MiB exceeds its baseline ${mib(this.current!.baselineRss)} MiB + ${mib(this.options.rssHeadroomBytes)} MiB`);
    }
    try {
      await freshClientGetsSessionId(this.url, this.options.healthTimeoutMs);
    } catch (error) {
      // Tell a crash (the socket died with the process) from a hang.
      await this.exitWithin(100);
      dead = await this.deathReport();
      throw dead ? new Error(dead) : error;
    }
  }

  /** Recent output lines of the current process. */
  outputTail(lines = 10): string {
    return (this.current?.app.output ?? []).slice(-lines).join('\n');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
    await this.starting?.catch(() => {});
    const spare = await this.spare?.catch(() => null);
    await spare?.app.kill('SIGKILL');
    await this.current?.app.kill('SIGKILL');
    this.current = null;
    this.spare = null;
  }
}

function instanceAlive({ app: { child } }: Instance): boolean {
  if (child.exitCode !== null || child.signalCode !== null) return false;
  try {
    return !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 0;
  }
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0; // a zombie has no VmRSS
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
