import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

/** Raw HTTP exchange: what the server answers to exactly these request bytes. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let reply = '';
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 2000);
  });
}

function upgradeStatus(url: string, origin?: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

describe('origin policy (allowedOrigins)', () => {
  let open: TestServer;
  let restricted: TestServer;
  before(async () => {
    open = await startTestServer();
    restricted = await startTestServer(() => {}, { allowedOrigins: ['https://app.example.com'] });
  });
  after(async () => {
    await open.close();
    await restricted.close();
  });

  test('by default every origin may connect, as in Meteor', async () => {
    assert.equal(await upgradeStatus(open.wsUrl, 'https://evil.example'), 101);
  });

  test('with allowedOrigins, a WebSocket from another origin gets 403 on both endpoints', async () => {
    assert.equal(await upgradeStatus(restricted.wsUrl, 'https://evil.example'), 403);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${restricted.port}/sockjs/websocket`, 'https://evil.example'), 403);
    assert.equal(await upgradeStatus(restricted.wsUrl, 'https://app.example.com'), 101);
    assert.equal(await upgradeStatus(restricted.wsUrl), 101, 'no Origin header: a non-browser client');
  });

  test('with allowedOrigins, SockJS HTTP from another origin gets 403 and no credentialed CORS reply', async () => {
    const evil = await fetch(`${restricted.httpUrl}/sockjs/info`, { headers: { origin: 'https://evil.example' } });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const good = await fetch(`${restricted.httpUrl}/sockjs/info`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(good.status, 200);
    assert.equal(good.headers.get('access-control-allow-origin'), 'https://app.example.com');
  });

  test('SockJS refuses draft-75/76 WebSocket handshakes (400)', async () => {
    const reply = await rawExchange(
      open.port,
      'GET /sockjs/123/abcdefgh/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nOrigin: http://x\r\n' +
        'Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\r\n^n:ds[4U',
    );
    assert.match(reply, /^HTTP\/1\.1 400 /);
  });
});
