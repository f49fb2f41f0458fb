import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildServer } from '../scripts/build-server';
import type { ServerSample } from './servers/ipc';

/** A child process driven by request/response messages over Node IPC. */
export class IpcChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  readonly ready: Promise<Record<string, unknown>>;
  readonly output: string[] = [];

  constructor(readonly child: ChildProcess, readonly name: string) {
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (message: { id?: number; type?: string; result?: unknown; error?: string; sample?: unknown }) => {
        if (message.type === 'ready') return resolve(message as Record<string, unknown>);
        const waiter = message.id !== undefined ? this.pending.get(message.id) : undefined;
        if (!waiter) return;
        this.pending.delete(message.id!);
        if (message.error) waiter.reject(new Error(`${name}: ${message.error}`));
        else waiter.resolve(message.result ?? message.sample);
      });
      child.once('exit', (code, signal) => {
        const error = new Error(`${name} exited (${code ?? signal}): ${this.output.slice(-5).join(' | ')}`);
        reject(error);
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
      });
    });
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  request<T>(message: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...message, id });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * Servers and workers run from an esbuild bundle (see scripts/build-server.ts),
 * not through tsx, so that what is measured is the code, not the loader.
 */
export async function buildBenchProcesses(): Promise<void> {
  await buildServer(
    { 'bare-ws': 'bench/servers/bare-ws.ts', socketio: 'bench/servers/socketio.ts', ddp: 'bench/servers/ddp.ts', worker: 'bench/load/worker.ts' },
    'bench/dist',
  );
}

export type ServerKind = 'app' | 'ddp-only' | 'bare-ws' | 'socketio';

export const SERVER_LABELS: Record<ServerKind, string> = {
  app: '(a) this app: DDP + presence',
  'ddp-only': '(b) same DDP server, presence off',
  'bare-ws': '(c) bare ws',
  socketio: '(d) Socket.IO + presence',
};

export interface ServerUnderTest {
  kind: ServerKind;
  port: number;
  url: string;
  protocol: 'ddp' | 'socketio';
  process: IpcChild;
  sample(): Promise<ServerSample>;
}

export async function startServer(kind: ServerKind, env: Record<string, string> = {}): Promise<ServerUnderTest> {
  const script = kind === 'bare-ws' ? 'dist/bare-ws.mjs' : kind === 'socketio' ? 'dist/socketio.mjs' : 'dist/ddp.mjs';
  const child = fork(here(script), [], {
    execArgv: ['--expose-gc'],
    env: {
      ...process.env,
      PORT: '0',
      BIND_IP: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // The scenarios count ` WARN `/` ERROR ` lines in the text format; a piped stderr would otherwise default to JSON.
      LOG_FORMAT: 'pretty',
      BENCH_PRESENCE: kind === 'ddp-only' ? 'off' : 'on',
      // The load generators pack thousands of clients onto each source address, which no real
      // network does; the per-address inbound budget would throttle the ramp. The attack scenario
      // turns it back on (its defaults) by passing an empty value.
      DDP_MAX_INBOUND_BYTES_PER_SECOND_PER_ADDRESS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const ipc = new IpcChild(child, kind);
  const { port } = (await ipc.ready) as { port: number };
  const protocol = kind === 'socketio' ? 'socketio' : 'ddp';
  return {
    kind,
    port,
    url: protocol === 'ddp' ? `ws://127.0.0.1:${port}/websocket` : `http://127.0.0.1:${port}`,
    protocol,
    process: ipc,
    sample: () => ipc.request<ServerSample>({ type: 'sample' }),
  };
}

/**
 * Load generators, each on its own 127.0.0.x source address; or, with
 * `addresses`, each on the list it gives for worker i (used round-robin per
 * connection: the server's inbound budget charges each new socket to its
 * address, so one address opens only about 2,000 at once and 256 a second).
 */
export async function startWorkers(count: number, firstAddress = 10, addresses?: (worker: number) => string[]): Promise<IpcChild[]> {
  const workers = Array.from({ length: count }, (_, i) => {
    const child = fork(here('dist/worker.mjs'), [], {
      execArgv: [],
      env: { ...process.env, BENCH_LOCAL_ADDRESS: addresses ? addresses(i).join(',') : `127.0.0.${firstAddress + i}` },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new IpcChild(child, `worker-${i}`);
  });
  await Promise.all(workers.map((w) => w.ready));
  return workers;
}
