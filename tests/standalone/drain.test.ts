import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { spawnApp, type AppProcess } from '../helpers/app-process';
import { MOSQUITTO_PATH, startMosquitto, type TestBroker } from '../helpers/brokers';
import { waitFor } from '../helpers/app-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';

/**
 * Graceful drain on SIGTERM, on the real process (`npm start`'s main.ts):
 * unready at once, new sockets refused, sessions closed spread over
 * DRAIN_MS, exit 0 within DRAIN_MS + 2 s.
 */
const DRAIN_MS = 2000;
const CLIENTS = 300;

async function status(url: string): Promise<number> {
  return (await fetch(url)).status;
}

/** Connect in batches under maxPendingSocketsPerAddress (100): every client comes from 127.0.0.1. */
async function connectMany(wsUrl: string, n: number): Promise<RawDdpClient[]> {
  const clients: RawDdpClient[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => RawDdpClient.connect(wsUrl)));
    clients.push(...batch.map((b) => b.client));
  }
  return clients;
}

/** A WebSocket handshake's outcome: 'open', or the HTTP status it was refused with. */
function tryWebSocket(url: string): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => (ws.terminate(), resolve('open')));
    ws.once('unexpected-response', (_req, res) => (ws.terminate(), resolve(res.statusCode ?? 0)));
    ws.once('error', (error) => reject(error));
  });
}

describe('graceful drain (SIGTERM)', () => {
  const apps: AppProcess[] = [];
  after(async () => {
    for (const app of apps) await app.kill('SIGKILL');
  });

  test(`${CLIENTS} sessions leave spread over DRAIN_MS; unready, refusing, exit 0 in time`, async (t) => {
    const app = await spawnApp({ DRAIN_MS: String(DRAIN_MS) });
    apps.push(app);
    const clients = await connectMany(app.wsUrl, CLIENTS);
    assert.equal(await status(`${app.url}/readyz`), 200);

    const termAt = Date.now();
    const closeTimes = clients.map((c) => c.closed.then(() => Date.now() - termAt));
    app.child.kill('SIGTERM');

    await waitFor(async () => (await status(`${app.url}/readyz`)) === 503, 1000, '/readyz 503');
    const readyBody = await (await fetch(`${app.url}/readyz`)).json();
    assert.deepEqual(readyBody, { ready: false, reasons: ['draining'] });
    assert.equal(await status(`${app.url}/healthz`), 200);
    assert.equal(await tryWebSocket(app.wsUrl), 503, 'a new WebSocket is refused with 503');
    assert.equal((await fetch(`${app.url}/sockjs/info`)).status, 503, 'a new SockJS client is refused at /info');

    const times = await Promise.all(closeTimes);
    const exit = await app.exited;
    const exitMs = exit.at - termAt;
    const tenths = new Array<number>(10).fill(0);
    for (const ms of times) tenths[Math.min(9, Math.floor(ms / (DRAIN_MS / 10)))]!++;
    const percent = tenths.map((n) => Math.round((n / CLIENTS) * 100));
    t.diagnostic(`closes per tenth of DRAIN_MS (% of ${CLIENTS}): ${percent.join(' ')}; first ${Math.min(...times)} ms, last ${Math.max(...times)} ms; exit ${exitMs} ms, code ${exit.code}`);
    for (const n of tenths) assert.ok(n <= CLIENTS * 0.2, `a tenth holds ${n} of ${CLIENTS}: ${tenths}`);
    assert.equal(exit.code, 0);
    assert.ok(exitMs < DRAIN_MS + 2000, `exited after ${exitMs} ms`);
  });

  test('a second signal exits at once', async () => {
    const app = await spawnApp({ DRAIN_MS: '10000' });
    apps.push(app);
    const clients = await connectMany(app.wsUrl, 10);
    app.child.kill('SIGTERM');
    await waitFor(async () => (await status(`${app.url}/readyz`)) === 503, 1000, '/readyz 503');
    const secondAt = Date.now();
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    assert.equal(exit.code, 1);
    assert.ok(exit.at - secondAt < 1000, `exited ${exit.at - secondAt} ms after the second signal`);
    for (const client of clients) client.ws.terminate();
  });

  test('with mosquitto: the retained status says `draining: true` while sessions leave, then `offline`', { skip: MOSQUITTO_PATH ? false : 'mosquitto is not installed (scripts/ensure-test-deps.sh)' }, async (t) => {
    const broker: TestBroker = await startMosquitto();
    const prefix = `drain-${Date.now().toString(36)}`;
    const observer = await mqtt.connectAsync(broker.url, { clientId: `observer-${prefix}` });
    try {
      const app = await spawnApp({ DRAIN_MS: '1000', MQTT_URL: broker.url, MQTT_TOPIC_PREFIX: prefix, PRESENCE_INSTANCE_ID: 'drainer' });
      apps.push(app);
      await waitFor(async () => (await status(`${app.url}/readyz`)) === 200, 5000, 'bridge connected');
      const clients = await connectMany(app.wsUrl, 40);

      const statuses: Array<{ at: number; status: Record<string, unknown> }> = [];
      const recordClears: number[] = [];
      observer.on('message', (topic, payload) => {
        if (topic.endsWith('/status')) statuses.push({ at: Date.now(), status: JSON.parse(payload.toString()) });
        else if (payload.length === 0) recordClears.push(Date.now());
      });
      await observer.subscribeAsync([`${prefix}/instances/drainer/status`, `${prefix}/instances/drainer/connections/+`], { qos: 1 });
      await waitFor(() => statuses.length > 0, 2000, 'the retained status');
      assert.equal(statuses.at(-1)!.status.state, 'online');
      assert.equal(statuses.at(-1)!.status.draining, undefined);

      const termAt = Date.now();
      app.child.kill('SIGTERM');
      await waitFor(() => statuses.some((s) => s.status.draining === true), 1000, 'draining: true');
      const draining = statuses.find((s) => s.status.draining === true)!;
      assert.equal(draining.status.state, 'online', 'still online: older readers drop the unknown key');

      // Read back as a late reader would: the retained message itself carries the flag during the drain.
      const late = await mqtt.connectAsync(broker.url, { clientId: `late-${prefix}` });
      const retained = await new Promise<Record<string, unknown>>((resolve) => {
        late.once('message', (_topic, payload) => resolve(JSON.parse(payload.toString())));
        void late.subscribeAsync(`${prefix}/instances/drainer/status`, { qos: 1 });
      });
      await late.endAsync(true);
      assert.equal(retained.draining, true);

      const exit = await app.exited;
      assert.equal(exit.code, 0);
      assert.equal(statuses.at(-1)!.status.state, 'offline');
      const spreadMs = Math.max(...recordClears) - Math.min(...recordClears);
      t.diagnostic(`draining seen after ${draining.at - termAt} ms; ${recordClears.length} record clears spread over ${spreadMs} ms; exit after ${exit.at - termAt} ms`);
      assert.ok(recordClears.length >= 40);
      assert.ok(spreadMs >= 500, `records left over ${spreadMs} ms, not gradually`);
      for (const client of clients) client.ws.terminate();
    } finally {
      await observer.endAsync(true);
      await broker.stop();
    }
  });
});
