import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { freePort } from '../helpers/brokers';
import { startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { readiness } from '../../imports/standalone/readiness';

const ready = { listening: true, storeReady: true, mqtt: 'not configured', draining: false } as const;

describe('readiness (pure)', () => {
  test('ready when listening, store ready, MQTT connected or off, not draining', () => {
    assert.deepEqual(readiness(ready), { ready: true, reasons: [] });
    assert.deepEqual(readiness({ ...ready, mqtt: 'connected' }), { ready: true, reasons: [] });
  });

  test('each failing input is named', () => {
    assert.deepEqual(readiness({ ...ready, mqtt: 'disconnected' }).reasons, ['mqtt not connected']);
    assert.deepEqual(readiness({ ...ready, storeReady: false }).reasons, ['store not ready']);
    assert.deepEqual(readiness({ ...ready, listening: false }).reasons, ['not listening']);
    assert.deepEqual(readiness({ listening: false, storeReady: false, mqtt: 'disconnected', draining: true }), {
      ready: false,
      reasons: ['draining', 'not listening', 'store not ready', 'mqtt not connected'],
    });
  });
});

describe('/healthz and /readyz on the standalone app', () => {
  const apps: AppTestServer[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });

  async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(url);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  test('/readyz is 200 after start, /healthz 200; both also under ROOT_URL\'s path', async () => {
    const app = await startAppForTest({ ROOT_URL: 'http://localhost/app' });
    apps.push(app);
    assert.deepEqual(await get(`${app.url}/readyz`), { status: 200, body: { ready: true } });
    assert.deepEqual(await get(`${app.url}/healthz`), { status: 200, body: { status: 'ok' } });
    assert.equal((await get(`${app.url}/app/readyz`)).status, 200);
    const head = await fetch(`${app.url}/healthz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('cache-control'), 'no-store');
  });

  test('with MQTT_URL pointing at a closed port, /readyz is 503 and says why; /healthz stays 200', async () => {
    const port = await freePort(); // nothing listens there
    const app = await startAppForTest({ MQTT_URL: `mqtt://127.0.0.1:${port}` });
    apps.push(app);
    assert.deepEqual(await get(`${app.url}/readyz`), { status: 503, body: { ready: false, reasons: ['mqtt not connected'] } });
    assert.equal((await get(`${app.url}/healthz`)).status, 200);
  });

  test('drain(): /readyz 503 "draining" at once, /healthz 200 until the server closes', async () => {
    const app = await startAppForTest({ DRAIN_MS: '300' });
    const { client } = await RawDdpClient.connect(app.wsUrl); // with no session the drain would end at once
    const draining = app.drain();
    assert.deepEqual(await get(`${app.url}/readyz`), { status: 503, body: { ready: false, reasons: ['draining'] } });
    assert.equal((await get(`${app.url}/healthz`)).status, 200);
    await draining;
    await client.closed;
    await waitFor(() => !app.http.listening, 1000, 'the server closed');
  });
});
