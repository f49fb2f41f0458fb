/**
 * Heap bytes per connection record, remote and local, measured in one
 * process without a DDP server:
 * - remote: N records of other instances, each parsed from the payload the
 *   bridge receives, through RemoteState → RemoteRecordsFeed → PresenceView;
 * - local: N records of this instance in a MemoryCollection (the store), then
 *   the PresenceView over it, then the MQTT bridge's hold of them: connected
 *   to a real mosquitto (fixed costs included; skipped without mosquitto),
 *   then a second bridge that never reaches a broker (per record only).
 *
 * Why: the full benchmark measures RSS per connection across processes; this
 * isolates what each layer holds per record, so a change to one layer shows
 * up as a ratio that is not drowned in sockets and sessions.
 *
 * Run: `node --expose-gc --import tsx bench/record-memory.ts [N]` (N = 50,000);
 * the result is also written to bench/results/record-memory-<time>.json.
 * Caveats: heap only (`heapUsed` after full GCs), not RSS; the records are
 * realistic (17-character ids, 12 user agents shared by everyone, one address
 * per record: the worst case for interning addresses).
 */
import EJSON from 'ejson';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConnectedUser } from '../imports/app/connected-user-schema';
import type { ConnectedUser } from '../imports/app/host';
import { PresenceView } from '../imports/app/presence-view';
import { randomId } from '../imports/ddp/random-id';
import { createLogger } from '../imports/log/logger';
import { defaultMqttBridgeLimits, MqttBridge } from '../imports/mqtt/mqtt-bridge';
import { RemoteRecordsFeed } from '../imports/mqtt/remote-records-feed';
import { RemoteState, type RemoteOperation } from '../imports/mqtt/remote-state';
import type { Document } from '../imports/store/collection';
import { MemoryCollection } from '../imports/store/memory-collection';
import { MOSQUITTO_BINARY, MosquittoProcess } from './mosquitto-process';
import { PRESENCE_NAMES } from '../imports/app/wire-contract';

const N = Number(process.argv[2] ?? 50_000);
const REMOTE_INSTANCES = 3;
const OWN = 'own-instance-0001';
const log = createLogger('error');

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with node --expose-gc --import tsx bench/record-memory.ts');

const USER_AGENTS = Array.from({ length: 12 }, (_, i) =>
  `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${120 + i}.0.0.0 Safari/537.36`,
);

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

function record(i: number, instanceId: string, at: number): ConnectedUser {
  const _id = randomId();
  const clientAddress = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return { _id, userId: _id, connectedAt: new Date(at + i), clientAddress, userAgent: USER_AGENTS[i % USER_AGENTS.length]!, instanceId };
}

/** The payload the bridge would receive for record `i` (mqtt-bridge.ts publishRecord). */
function remotePayload(i: number, epoch: number): { instanceId: string; payload: string } {
  const instanceId = `remote-instance-${i % REMOTE_INSTANCES}`;
  return { instanceId, payload: EJSON.stringify({ e: epoch, r: record(i, instanceId, epoch) } as never) };
}

function apply(feed: RemoteRecordsFeed, ops: RemoteOperation[]): void {
  for (const op of ops) {
    if (op.op === 'show') feed.shown(op.record);
    else if (op.op === 'hide') feed.hidden(op.instanceId, op.sessionId);
  }
}

/** What the bridge does with a record message (mqtt-bridge.ts onMessage), minus the topic checks. */
function receive(state: RemoteState, instanceId: string, payload: string, now: number): RemoteOperation[] {
  const { e: epoch, r } = EJSON.parse(payload) as { e: number; r: unknown };
  validateConnectedUser(r);
  return state.record(instanceId, { record: r as Document & { instanceId: string }, epoch }, now);
}

async function measureRemote(): Promise<{ perRecord: number; scanMs: number; keep: unknown }> {
  const now = Date.now();
  const epoch = now - 60_000;
  const state = new RemoteState({ ...defaultMqttBridgeLimits.remote, maxRecordsPerInstance: N, maxRecordsTotal: N });
  const feed = new RemoteRecordsFeed(() => state.shownRecords());
  const view = new PresenceView({ instanceId: OWN, log, remote: feed });
  await view.start(new MemoryCollection<ConnectedUser>('empty').find({}));
  let count = 0;
  view.observe({ added: () => void count++, removed: () => void count-- }); // like LiveCount: holds nothing per record
  for (let i = 0; i < REMOTE_INSTANCES; i++) apply(feed, state.status(`remote-instance-${i}`, { state: 'online', epoch }, now));
  const before = heapUsed();
  // One at a time and nothing kept: only what the layers hold remains (an array of inputs, or its iterator, would be measured too).
  for (let i = 0; i < N; i++) {
    const { instanceId, payload } = remotePayload(i, epoch);
    apply(feed, receive(state, instanceId, payload, now));
  }
  const after = heapUsed();
  if (count !== N || view.count !== N) throw new Error(`remote: ${count} shown of ${N}`);
  // A window monitor's refill: one full scan of the view (live-window.ts); the median of 9.
  const scans: number[] = [];
  for (let i = 0; i < 9; i++) {
    const started = performance.now();
    let newest = 0;
    view.forEach((_id, fields) => void (newest = Math.max(newest, (fields.connectedAt as Date).getTime())));
    scans.push(performance.now() - started);
  }
  const scanMs = scans.sort((a, b) => a - b)[4]!;
  return { perRecord: (after - before) / N, scanMs, keep: [state, feed, view] };
}

async function measureLocal(): Promise<{ store: number; view: number; connectedBridge: number | null; bridge: number; keep: unknown }> {
  const at = Date.now();
  const collection = new MemoryCollection<ConnectedUser>(PRESENCE_NAMES.collection, log);
  const base = heapUsed();
  for (let i = 0; i < N; i++) await collection.insertAsync(record(i, OWN, at));
  const withStore = heapUsed();

  // The view as the app builds it: with a remote source, so it takes this instance's records from the store.
  const view = new PresenceView({ instanceId: OWN, log, remote: new RemoteRecordsFeed(() => []) });
  await view.start(collection.find({}));
  const withView = heapUsed();
  if (view.count !== N) throw new Error(`local: ${view.count} in the view of ${N}`);

  // First, so that its fixed costs (mqtt.js, mqtt-packet's caches) are counted here.
  const connectedBridge = await measureConnectedBridge(collection);

  // A bridge whose broker never answers (port 9 is discard; the connect fails and is retried a minute later).
  const before = heapUsed();
  const bridge = new MqttBridge(
    { ...defaultMqttBridgeLimits, url: 'mqtt://127.0.0.1:9', topicPrefix: 'bench', keepaliveSeconds: 30, instanceId: OWN, minReconnectMs: 60_000 },
    collection as unknown as MemoryCollection<Document>,
    validateConnectedUser,
    log,
  );
  bridge.start();
  const withBridge = heapUsed();
  await bridge.stop();
  return {
    store: (withStore - base) / N,
    view: (withView - withStore) / N,
    connectedBridge,
    bridge: (withBridge - before) / N,
    keep: [collection, view],
  };
}

/**
 * The bridge connected to a real mosquitto, once it has published our N
 * records and read them back: what it holds then, fixed costs included (the
 * issue's "MQTT alone adds about 9 MB of heap for 4,000 records": run with N = 4000).
 */
async function measureConnectedBridge(collection: MemoryCollection<ConnectedUser>): Promise<number | null> {
  if (!MOSQUITTO_BINARY) return null;
  const broker = await MosquittoProcess.start();
  try {
    const before = heapUsed();
    const bridge = new MqttBridge(
      { ...defaultMqttBridgeLimits, url: broker.url, topicPrefix: 'bench', keepaliveSeconds: 30, instanceId: OWN },
      collection as unknown as MemoryCollection<Document>,
      validateConnectedUser,
      log,
    );
    bridge.start();
    const deadline = Date.now() + 10_000;
    while (!bridge.status().connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!bridge.status().connected) throw new Error('the bridge did not connect to mosquitto');
    await new Promise((r) => setTimeout(r, 2_000 + N / 10)); // records published, acknowledged and read back
    const after = heapUsed();
    await bridge.stop();
    return after - before;
  } finally {
    await broker.kill();
  }
}

const remote = await measureRemote();
const local = await measureLocal();
const round = (n: number) => Math.round(n);
const result = {
  node: process.version,
  records: N,
  remoteInstances: REMOTE_INSTANCES,
  remoteBytesPerRecord: round(remote.perRecord),
  localStoreBytesPerRecord: round(local.store),
  localViewBytesPerRecord: round(local.view),
  /** The bridge connected to mosquitto, everything it holds (null without mosquitto). */
  localBridgeConnectedMB: local.connectedBridge === null ? null : Number((local.connectedBridge / 1e6).toFixed(2)),
  localBridgeConnectedBytesPerRecord: local.connectedBridge === null ? null : round(local.connectedBridge / N),
  /** What a second, unconnected bridge holds per record (its fixed costs already paid). */
  localBridgeBytesPerRecord: round(local.bridge),
  remoteFullScanMs: Number(remote.scanMs.toFixed(1)),
};
console.log(JSON.stringify(result, null, 2));
const file = join(dirname(fileURLToPath(import.meta.url)), 'results', `record-memory-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
console.log(`written to ${file}`);
void remote.keep;
void local.keep;
process.exit(0);
