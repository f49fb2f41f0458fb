import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';

export interface TestBroker {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stop and start again on the same port (retained messages are lost: no persistence). */
  restart(downMs?: number): Promise<void>;
  /** The broker stops answering, its sockets left open (mosquitto: SIGSTOP; aedes: its clients stop being read). */
  freeze(): Promise<void>;
  /** Undo `freeze` (mosquitto: SIGCONT). */
  thaw(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on `port` (127.0.0.1). */
export async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const MOSQUITTO_PATH = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

/** Debian's mosquitto on a free loopback port, in the foreground, no persistence. */
export async function startMosquitto(): Promise<TestBroker> {
  if (!MOSQUITTO_PATH) throw new Error('mosquitto is missing: run scripts/ensure-test-deps.sh as root (apt-get install mosquitto)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n`);
  let child: ChildProcess | null = null;
  const launch = async () => {
    child = spawn(MOSQUITTO_PATH!, ['-c', conf], { stdio: 'ignore' });
    await waitForPort(port);
  };
  const kill = async () => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stop: kill,
    async restart(downMs = 500) {
      await kill();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async freeze() {
      (child as ChildProcess | null)?.kill('SIGSTOP');
    },
    async thaw() {
      (child as ChildProcess | null)?.kill('SIGCONT');
    },
  };
}

/** aedes, in-process, on a free loopback port. */
export async function startAedes(): Promise<TestBroker & { broker: Aedes }> {
  const port = await freePort();
  let broker = await Aedes.createBroker();
  let server: Server;
  const sockets = new Set<import('node:net').Socket>();
  const launch = async () => {
    server = createServer(broker.handle);
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  };
  const shut = async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await launch();
  const handle = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get broker() {
      return broker;
    },
    stop: shut,
    async freeze() {
      // aedes reads each client's socket only while that client is not paused (lib/client.js, nextBatch).
      for (const client of aedesClients(broker)) client.pause();
    },
    async thaw() {
      for (const client of aedesClients(broker)) client.resume();
    },
    async restart(downMs = 300) {
      await shut();
      await new Promise((r) => setTimeout(r, downMs));
      broker = await Aedes.createBroker();
      await launch();
    },
  };
  return handle;
}

/** aedes's connected clients (public at runtime, absent from its typings). */
function aedesClients(broker: Aedes): Array<{ pause(): void; resume(): void }> {
  return Object.values((broker as unknown as { clients: Record<string, { pause(): void; resume(): void }> }).clients);
}
