import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SockJS from 'sockjs-client';
import { spawnApp, type AppProcess } from '../helpers/app-process';
import { freePort, MOSQUITTO_PATH, startMosquitto, type TestBroker } from '../helpers/brokers';
import { waitFor } from '../helpers/app-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';

/**
 * The deployment recipe end to end: deploy/haproxy.cfg (rendered with local
 * ports, nothing else changed) run by Debian's haproxy in front of three app
 * processes joined by mosquitto. Checks what the recipe promises: WebSocket and
 * SockJS xhr-streaming / xhr-polling clients work through the proxy (sticky
 * sessions), monitors see each client's own address (HTTP_FORWARDED_COUNT=1),
 * and a rolling restart with drain moves clients without a dip in the count.
 * Raw WebSocket clients bind 127.0.0.2.. so their addresses differ from the
 * proxy's (127.0.0.1) and `balance source` spreads them.
 */
const HAPROXY_PATH = ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'].find((p) => existsSync(p));
const skip = !HAPROXY_PATH
  ? 'haproxy is not installed (apt-get install haproxy; scripts/ensure-test-deps.sh)'
  : !MOSQUITTO_PATH
    ? 'mosquitto is not installed (scripts/ensure-test-deps.sh)'
    : false;
if (skip) console.log(`# skipping the HAProxy deployment suite: ${skip}`);

const TOKEN = 'haproxy-e2e-token';
const DRAIN_MS = 1500;
const WS_CLIENTS = 24;
const IDS = ['app1', 'app2', 'app3'];

type Frame = Record<string, unknown>;
type Kind = 'websocket' | 'xhr-streaming' | 'xhr-polling';

/** One DDP conversation over a raw WebSocket or sockjs-client; answers pings. */
interface Conversation {
  session: string;
  closed: Promise<void>;
  close(): void;
}

async function openWs(url: string, localAddress: string, headers: Record<string, string>): Promise<Conversation> {
  const { client, session } = await RawDdpClient.connect(url, headers, { localAddress });
  client.ws.on('message', (data) => {
    if (JSON.parse(data.toString()).msg === 'ping') client.send({ msg: 'pong' });
  });
  return { session, closed: client.closed.then(() => undefined), close: () => client.ws.terminate() };
}

function openSockJs(url: string, transport: Kind): Promise<Conversation> {
  return new Promise((resolve, reject) => {
    const sock = new SockJS(url, null, { transports: [transport] });
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => (closedResolve = r));
    let session: string | undefined;
    const timer = setTimeout(() => (sock.close(), reject(new Error(`${transport}: no connected frame`))), 10_000);
    sock.onopen = () => sock.send(JSON.stringify({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] }));
    sock.onmessage = (e: { data: string }) => {
      const f = JSON.parse(e.data) as Frame;
      if (f.msg === 'ping') sock.send(JSON.stringify({ msg: 'pong' }));
      if (f.msg === 'connected' && !session) {
        session = f.session as string;
        clearTimeout(timer);
        resolve({ session, closed, close: () => sock.close() });
      }
    };
    sock.onclose = () => {
      clearTimeout(timer);
      closedResolve();
      if (!session) reject(new Error(`${transport}: closed before connected`));
    };
  });
}

/** A client that opens a new conversation through the proxy whenever its current one closes (retrying refusals). */
class ReconnectingClient {
  current: Conversation | undefined;
  sessions: string[] = [];
  private stopped = false;
  constructor(
    readonly proxyUrl: string,
    readonly kind: Kind,
    readonly address: string,
    readonly headers: Record<string, string> = {},
  ) {}

  async start(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        this.current =
          this.kind === 'websocket'
            ? await openWs(this.proxyUrl.replace('http', 'ws') + '/websocket', this.address, this.headers)
            : await openSockJs(`${this.proxyUrl}/sockjs`, this.kind);
        break;
      } catch (error) {
        if (this.stopped) return;
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (this.stopped) return this.current.close();
    this.sessions.push(this.current.session);
    const mine = this.current;
    void mine.closed.then(() => {
      if (!this.stopped && this.current === mine) this.start().catch(() => {});
    });
  }

  stop(): void {
    this.stopped = true;
    this.current?.close();
  }
}

/** A monitor straight on one instance (no proxy): the full list and the live count. */
async function openMonitor(url: string) {
  const { client } = await RawDdpClient.connect(url.replace('http', 'ws') + '/websocket');
  const records = new Map<string, Frame>();
  const counts: number[] = [];
  client.ws.on('message', (data) => {
    const f = JSON.parse(data.toString()) as Frame;
    if (f.msg === 'ping') return client.send({ msg: 'pong' });
    const fields = (f.fields ?? {}) as Frame;
    if (f.collection === 'connectedUsers') {
      if (f.msg === 'added') records.set(f.id as string, { ...fields });
      else if (f.msg === 'changed') Object.assign(records.get(f.id as string) ?? {}, fields);
      else if (f.msg === 'removed') records.delete(f.id as string);
    } else if (f.collection === 'connectedUsers.count' && typeof fields.count === 'number') {
      counts.push(fields.count);
    }
  });
  client.send({ msg: 'sub', id: 'list', name: 'list.connectedUsers', params: [{ token: TOKEN }] });
  client.send({ msg: 'sub', id: 'count', name: 'list.connectedUsers.count', params: [] });
  return { client, records, counts, count: () => counts.at(-1) };
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

describe('deploy/haproxy.cfg in front of three instances (Debian haproxy)', { skip }, () => {
  let broker: TestBroker;
  let haproxy: ChildProcess;
  let proxyUrl: string;
  const haproxyOutput: string[] = [];
  const ports: number[] = [];
  const apps = new Map<string, AppProcess>();
  const clients: ReconnectingClient[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-e2e-'));
  const prefix = `hap-${Date.now().toString(36)}`;
  let victim = '';

  const startInstance = async (i: number) => {
    const app = await spawnApp({
      PORT: String(ports[i]),
      PRESENCE_INSTANCE_ID: IDS[i]!,
      MQTT_URL: broker.url,
      MQTT_TOPIC_PREFIX: prefix,
      PRESENCE_MONITOR_TOKEN: TOKEN,
      HTTP_FORWARDED_COUNT: '1',
      DRAIN_MS: String(DRAIN_MS),
    });
    apps.set(IDS[i]!, app);
    await waitFor(() => ready(app.url), 10_000, `${IDS[i]} ready`);
  };

  before(async () => {
    broker = await startMosquitto();
    for (let i = 0; i < 4; i++) ports.push(await freePort());
    await Promise.all(IDS.map((_, i) => startInstance(i)));
    // The committed file, with local addresses: nothing else differs from what compose runs.
    const cfg = readFileSync(new URL('../../deploy/haproxy.cfg', import.meta.url), 'utf8')
      .replace(/^(\s*bind) :8080$/m, `$1 127.0.0.1:${ports[3]}`)
      .replace(/\bapp([123]):3000\b/g, (_m, n: string) => `127.0.0.1:${ports[Number(n) - 1]}`);
    for (const hit of [`bind 127.0.0.1:${ports[3]}`, ...ports.slice(0, 3).map((p) => `server app${ports.indexOf(p) + 1} 127.0.0.1:${p}`)]) {
      assert.ok(cfg.includes(hit), `the template changed shape (no "${hit}"): update this test`);
    }
    writeFileSync(join(dir, 'haproxy.cfg'), cfg);
    haproxy = spawn(HAPROXY_PATH!, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout!.on('data', (c: Buffer) => haproxyOutput.push(c.toString()));
    haproxy.stderr!.on('data', (c: Buffer) => haproxyOutput.push(c.toString()));
    proxyUrl = `http://127.0.0.1:${ports[3]}`;
    await waitFor(() => ready(proxyUrl), 10_000, 'haproxy answering /readyz').catch((error) => {
      throw new Error(`${error.message}; haproxy said: ${haproxyOutput.join('')}`);
    });
  });

  after(async () => {
    for (const c of clients) c.stop();
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((r) => haproxy.once('exit', r));
      haproxy.kill('SIGKILL');
      await exited;
    }
    for (const app of apps.values()) await app.kill('SIGKILL');
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('WebSocket, xhr-streaming and xhr-polling clients through the proxy; monitors see each client’s own address', async () => {
    for (let i = 0; i < WS_CLIENTS; i++) {
      // The first one forges X-Forwarded-For: HAProxy appends the real address, and the app takes the last entry.
      clients.push(new ReconnectingClient(proxyUrl, 'websocket', `127.0.0.${i + 2}`, i === 0 ? { 'x-forwarded-for': '6.6.6.6' } : {}));
    }
    for (const kind of ['xhr-streaming', 'xhr-streaming', 'xhr-polling', 'xhr-polling'] as const) clients.push(new ReconnectingClient(proxyUrl, kind, '127.0.0.1'));
    await Promise.all(clients.map((c) => c.start()));

    const monitor = await openMonitor(apps.get('app1')!.url);
    try {
      const sessions = clients.map((c) => c.current!.session);
      await waitFor(() => sessions.every((s) => monitor.records.has(s)), 10_000, 'every proxied client in the monitor’s list');
      for (const c of clients) {
        const record = monitor.records.get(c.current!.session)!;
        assert.equal(record.clientAddress, c.address, `${c.kind} client at ${c.address}: ${JSON.stringify(record)}`);
      }
      // Every client reached one of the three (possibly remote) instances; count the busiest.
      const perInstance = new Map<string, number>();
      for (const s of sessions) {
        const id = monitor.records.get(s)!.instanceId as string;
        perInstance.set(id, (perInstance.get(id) ?? 0) + 1);
      }
      assert.ok([...perInstance.keys()].every((id) => IDS.includes(id)), JSON.stringify([...perInstance]));
      victim = [...perInstance.entries()].sort((a, b) => b[1] - a[1])[0]![0];
      const wsBy = [...perInstance].map(([id, n]) => `${id}: ${n}`).join(', ');
      console.log(`# proxied clients per instance: ${wsBy}`);
    } finally {
      monitor.client.ws.terminate();
    }
  });

  test('rolling restart of the busiest instance: its clients move, a monitor elsewhere never sees more than its share leave', async () => {
    assert.ok(victim, 'the first test chose an instance');
    const observerId = IDS.find((id) => id !== victim)!;
    const watcher = await openMonitor(apps.get(observerId)!.url);
    try {
      const baseline = clients.length + 1; // the watcher counts itself
      await waitFor(() => watcher.count() === baseline && clients.every((c) => watcher.records.has(c.current!.session)), 10_000, `count ${baseline}`);
      const onVictim = clients.filter((c) => watcher.records.get(c.current!.session)!.instanceId === victim);
      assert.ok(onVictim.length > 0);
      const countsFrom = watcher.counts.length;

      const started = Date.now();
      const app = apps.get(victim)!;
      app.child.kill('SIGTERM');
      const exit = await app.exited;
      assert.equal(exit.code, 0, 'the drain ends in a clean exit');
      // Every client of the drained instance is back, on another instance, seen with its own address.
      await waitFor(
        () => watcher.count() === baseline && clients.every((c) => c.current && watcher.records.get(c.current.session)?.instanceId && watcher.records.get(c.current.session)!.instanceId !== victim),
        15_000,
        'every client reconnected elsewhere',
      );
      const moved = Date.now() - started;
      for (const c of clients) assert.equal(watcher.records.get(c.current!.session)!.clientAddress, c.address);
      for (const c of onVictim) assert.ok(c.sessions.length >= 2, `${c.kind} ${c.address} reconnected`);
      const seen = watcher.counts.slice(countsFrom);
      const lowest = Math.min(baseline, ...seen);
      console.log(`# drained ${victim} (${onVictim.length} clients) in ${exit.at - started} ms; all back after ${moved} ms; ${observerId}'s count went as low as ${lowest} of ${baseline}`);
      assert.ok(lowest >= baseline - onVictim.length, `count dipped to ${lowest}: ${seen.join(' ')}`);

      // The instance comes back on its port; HAProxy's health check puts it back in rotation,
      // and consistent hashing sends its old addresses to it again.
      await startInstance(IDS.indexOf(victim));
      const probe = onVictim.find((c) => c.kind === 'websocket');
      if (probe) {
        await waitFor(
          async () => {
            const c = await openWs(proxyUrl.replace('http', 'ws') + '/websocket', probe.address, {}).catch(() => undefined);
            if (!c) return false;
            await waitFor(() => watcher.records.has(c.session), 5000, 'the probe’s record');
            const back = watcher.records.get(c.session)!.instanceId === victim;
            c.close();
            if (!back) await new Promise((r) => setTimeout(r, 250));
            return back;
          },
          15_000,
          `${victim} back in rotation`,
        );
      }
    } finally {
      watcher.client.ws.terminate();
    }
  });
});
