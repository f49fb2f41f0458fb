import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { AdmissionControl } from '../../imports/ddp/admission';
import {
  automaticMaxSockets,
  FALLBACK_OPEN_FILE_LIMIT,
  parseMaxOpenFiles,
  readOpenFileLimit,
} from '../../imports/ddp/open-file-limit';
import { resolveDdpServerOptions } from '../../imports/ddp/options';
import { captureLogger, describeLogs, matching, type LogQuery } from '../helpers/capture-logger';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

/**
 * Admission control (issue 9, "Hostile input cannot take a process down"):
 * the process-wide socket cap, the HTTP headers timeout, the per-address caps
 * on pending sockets and on sessions, the connect deadline and the pre1 idle
 * timeout, on real servers and raw sockets from several loopback addresses.
 */

const CONNECT = { msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] };

/** A /websocket DDP client from a chosen source address. */
class Peer {
  readonly frames: Array<Record<string, unknown>> = [];
  private cursor = 0;
  private wake: (() => void) | null = null;
  readonly closed: Promise<void>;
  session = '';

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      this.wake?.();
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.on('close', () => {
        this.wake?.();
        resolve();
      }),
    );
  }

  static async open(url: string, localAddress = '127.0.0.1', headers: Record<string, string> = {}): Promise<Peer> {
    const ws = new WebSocket(url, { localAddress, headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Peer(ws);
  }

  static async connect(url: string, localAddress = '127.0.0.1', version = '1'): Promise<Peer> {
    const peer = await Peer.open(url, localAddress);
    await peer.handshake(version);
    return peer;
  }

  async handshake(version = '1'): Promise<void> {
    this.send(version === '1' ? CONNECT : { msg: 'connect', version, support: [version] });
    const connected = await this.next();
    assert.equal(connected.msg, 'connected');
    this.session = connected.session as string;
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  async next(timeoutMs = 2000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const frame = this.frames[this.cursor++]!;
        if (frame.msg !== 'ping') return frame;
      }
      if (this.ws.readyState === WebSocket.CLOSED || Date.now() >= deadline) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Calls `whoami` and returns the session id the server sees. */
  async whoami(): Promise<unknown> {
    const id = randomBytes(4).toString('hex');
    this.send({ msg: 'method', id, method: 'whoami', params: [] });
    for (;;) {
      const frame = await this.next();
      if (frame.msg === 'result' && frame.id === id) return frame.result;
    }
  }

  close(): void {
    this.ws.close();
  }
}

function registerWhoami(meteor: { methods(m: Record<string, (this: { connection: { id: string } }) => unknown>): void }) {
  meteor.methods({
    whoami() {
      return this.connection.id;
    },
  });
}

/** A raw TCP socket; `text()` is everything received, `ended` resolves when the server closes it. */
async function tcp(port: number, localAddress = '127.0.0.1') {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  const ended = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, ended, text: () => received };
}

/** A raw WebSocket upgrade request; resolves with the status line's code (101 or a refusal). */
async function upgrade(port: number, localAddress = '127.0.0.1', extraHeaders = '', path = '/websocket') {
  const raw = await tcp(port, localAddress);
  raw.socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
  );
  const status = await new Promise<number>((resolve) => {
    const check = () => {
      const head = raw.text();
      if (head.includes('\r\n\r\n') || raw.socket.destroyed) resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0));
      else raw.socket.once('data', check);
    };
    raw.socket.once('close', check);
    check();
  });
  return { ...raw, status };
}

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The server's log records matching `query`. */
const logged = (server: TestServer, query: LogQuery) => matching(server.logs, query);

describe('open-file limit (open-file-limit.ts)', () => {
  const sample = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max processes             96365                96365                processes ',
    'Max open files            20000                524288               files     ',
    'Max locked memory         8388608              8388608              bytes     ',
  ].join('\n');

  test('parseMaxOpenFiles reads the soft "Max open files" limit from /proc/self/limits text', () => {
    assert.equal(parseMaxOpenFiles(sample), 20_000);
    assert.equal(parseMaxOpenFiles(sample.replace('20000   ', 'unlimited')), Number.POSITIVE_INFINITY);
    assert.equal(parseMaxOpenFiles('Max processes 1 1 processes'), null);
    assert.equal(parseMaxOpenFiles('Max open files            lots                 524288               files'), null);
  });

  test('readOpenFileLimit reads this process; an unreadable file falls back to a constant and says why', () => {
    if (process.platform === 'linux') {
      const own = readOpenFileLimit();
      assert.equal(own.source, 'proc');
      assert.ok(own.limit > 0);
    }
    assert.deepEqual(readOpenFileLimit(() => sample), { limit: 20_000, source: 'proc' });
    const missing = readOpenFileLimit(() => {
      throw new Error('ENOENT: no such file');
    });
    assert.equal(missing.limit, FALLBACK_OPEN_FILE_LIMIT);
    assert.equal(missing.source, 'fallback');
    assert.match(missing.reason ?? '', /ENOENT/);
    assert.equal(readOpenFileLimit(() => 'garbage').source, 'fallback');
  });

  test('automaticMaxSockets keeps the headroom free, but never less than half the limit', () => {
    assert.equal(automaticMaxSockets(20_000, 512), 19_488);
    assert.equal(automaticMaxSockets(1024, 512), 512);
    assert.equal(automaticMaxSockets(256, 512), 128);
    assert.equal(automaticMaxSockets(Number.POSITIVE_INFINITY, 512), Number.POSITIVE_INFINITY);
  });

  test('the DDP server logs where its socket cap came from', async () => {
    const server = await startTestServer();
    try {
      const fromProc = logged(server, { level: 'info', message: 'Socket cap from the open-file limit' });
      const assumed = logged(server, { level: 'warn', message: 'Open-file limit unreadable' });
      assert.equal(fromProc.length + assumed.length, 1, describeLogs(server.logs));
      const { maxSockets } = server.ddp.admissionStats;
      assert.equal([...fromProc, ...assumed][0]!.context?.maxSockets, Number.isFinite(maxSockets) ? maxSockets : 'unlimited');
      assert.ok(server.ddp.admissionStats.maxSockets > 0);
    } finally {
      await server.close();
    }
  });
});

describe('process-wide socket cap (maxSockets)', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer(registerWhoami, { maxSockets: 20 })));
  after(() => server.close());

  test('beyond maxSockets new sockets get a 503 and are closed; the existing session is still served; after some close, a fresh client is', async () => {
    const existing = await Peer.connect(server.wsUrl, '127.0.0.2');
    const silent = [];
    for (let i = 0; i < 19; i++) silent.push(await tcp(server.port, `127.0.0.${10 + (i % 4)}`));
    await waitFor(() => server.ddp.admissionStats.socketsOpen === 20, '20 sockets open');

    for (let i = 0; i < 3; i++) {
      const extra = await tcp(server.port, '127.0.0.14');
      await extra.ended;
      assert.match(extra.text(), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      assert.match(extra.text(), /\r\nConnection: close\r\n/);
      assert.match(extra.text(), /\r\nRetry-After: \d+\r\n/);
    }
    const refusedUpgrade = await upgrade(server.port, '127.0.0.15');
    assert.equal(refusedUpgrade.status, 503, 'a WebSocket client beyond the cap gets 503, not a reset');
    assert.equal(server.ddp.admissionStats.refused['socket cap'], 4);
    const capLogged = logged(server, { level: 'warn', message: 'Socket cap reached', context: { maxSockets: 20 } });
    assert.equal(capLogged.length, 1, `one log record, not one per socket:\n${describeLogs(server.logs)}`);

    assert.equal(await existing.whoami(), existing.session);

    for (const raw of silent.splice(0, 3)) raw.socket.destroy();
    await waitFor(() => server.ddp.admissionStats.socketsOpen <= 17, 'the server to see the closes');
    const fresh = await Peer.connect(server.wsUrl, '127.0.0.3');
    assert.equal(await fresh.whoami(), fresh.session);
    assert.equal(server.ddp.admissionStats.socketsOpen, 18);

    fresh.close();
    existing.close();
    for (const raw of silent) raw.socket.destroy();
    await waitFor(() => server.ddp.admissionStats.socketsOpen === 0, 'every socket counted out');
  });

  test('an accept error (EMFILE) on the HTTP server is counted and logged once per window, never thrown', async () => {
    const acceptError = () => Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', errno: -24, syscall: 'accept' });
    server.http.emit('error', acceptError());
    server.http.emit('error', acceptError());
    assert.equal(server.ddp.admissionStats.acceptErrors, 2);
    assert.equal(logged(server, { level: 'warn', message: 'Could not accept a connection', context: { code: 'EMFILE' } }).length, 1, describeLogs(server.logs));
    // Any other server error (EADDRINUSE from listen) still throws when nobody else listens, as without admission control.
    const listenError = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen' });
    assert.throws(() => server.http.emit('error', listenError), /EADDRINUSE/);
    const fresh = await Peer.connect(server.wsUrl, '127.0.0.4');
    assert.equal(await fresh.whoami(), fresh.session);
    fresh.close();
  });
});

describe('socket counting without net.Server\'s own count', () => {
  test('admission control counts sockets itself (a listener per socket) when the server has no _connections', async () => {
    const { log } = captureLogger();
    const admission = new AdmissionControl(resolveDdpServerOptions({ maxSockets: 2 }), log);
    const server = Object.assign(new EventEmitter(), { headersTimeout: 60_000, requestTimeout: 300_000 });
    admission.attach(server as unknown as HttpServer);
    const fakeSocket = () => {
      const socket = Object.assign(
        new Duplex({
          read() {},
          write(chunk, _encoding, callback) {
            socket.written += String(chunk);
            callback();
          },
        }),
        { written: '' },
      );
      return socket;
    };
    const sockets = [fakeSocket(), fakeSocket(), fakeSocket()];
    for (const socket of sockets) server.emit('connection', socket);
    assert.equal(admission.stats.socketsOpen, 2);
    assert.match(sockets[2]!.written, /^HTTP\/1\.1 503 /);
    assert.ok(sockets[2]!.destroyed);
    assert.equal(server.headersTimeout, 10_000, 'httpHeadersTimeoutMs is also Node\'s headersTimeout');

    sockets[0]!.destroy();
    await once(sockets[0]!, 'close');
    assert.equal(admission.stats.socketsOpen, 1);
    const next = fakeSocket();
    server.emit('connection', next);
    assert.equal(next.destroyed, false);
    assert.equal(admission.stats.socketsOpen, 2);
    admission.close();
    await once(next, 'close');
    assert.equal(admission.stats.socketsOpen, 0);
    assert.equal(admission.stats.awaitingHeaders, 0);
  });
});

describe('HTTP headers timeout (httpHeadersTimeoutMs)', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer(registerWhoami, { httpHeadersTimeoutMs: 300 })));
  after(() => server.close());

  test('a socket that never sends HTTP headers, or trickles them, is closed at httpHeadersTimeoutMs; a session is not', async () => {
    const session = await Peer.connect(server.wsUrl, '127.0.0.2');
    const started = Date.now();
    const silent = await tcp(server.port, '127.0.0.20');
    const trickle = await tcp(server.port, '127.0.0.21');
    trickle.socket.write('GET / HTTP/1.1\r\n');
    const drip = setInterval(() => trickle.socket.write('X-Slow: 1\r\n'), 50);
    const [silentClosed, trickleClosed] = await Promise.all([silent.ended, trickle.ended]);
    clearInterval(drip);
    for (const closedAt of [silentClosed, trickleClosed]) {
      assert.ok(closedAt - started >= 250, `closed after ${closedAt - started} ms, before the timeout`);
      assert.ok(closedAt - started < 1500, `closed after ${closedAt - started} ms`);
    }
    assert.match(silent.text(), /^HTTP\/1\.1 408 /);
    assert.equal(server.ddp.admissionStats.headersTimedOut, 2);
    assert.equal(server.http.headersTimeout, 300, "Node's own check covers later keep-alive requests");

    // Open since before the two above, well past the timeout: untouched.
    assert.equal(await session.whoami(), session.session);
    session.close();
  });

  test('a plain HTTP request that sends its headers in time is answered', async () => {
    const res = await fetch(`${server.httpUrl}/nothing-here`);
    assert.equal(res.status, 404);
    await res.text();
  });
});

describe('per-address cap on sockets pending DDP connect (maxPendingSocketsPerAddress)', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer(registerWhoami, { maxPendingSocketsPerAddress: 5 })));
  after(() => server.close());

  test('the 6th pending socket from one address is refused while another address is served; a socket that completes connect no longer counts', async () => {
    const flood = [];
    for (let i = 0; i < 3; i++) flood.push(await Peer.open(server.wsUrl, '127.0.0.30'));
    const silentTcp = [await tcp(server.port, '127.0.0.30'), await tcp(server.port, '127.0.0.30')];
    await waitFor(() => server.ddp.admissionStats.socketsOpen === 5, 'five sockets from 127.0.0.30');
    assert.equal(server.ddp.admissionStats.awaitingConnect, 3);

    const refusedWs = await upgrade(server.port, '127.0.0.30');
    assert.equal(refusedWs.status, 503);
    const refusedTcp = await tcp(server.port, '127.0.0.30');
    await refusedTcp.ended;
    assert.match(refusedTcp.text(), /^HTTP\/1\.1 503 /);

    const other = await Peer.connect(server.wsUrl, '127.0.0.31');
    assert.equal(await other.whoami(), other.session);

    // One of the five completes connect: a slot frees up, and only one.
    await flood[0]!.handshake();
    const sixth = await Peer.open(server.wsUrl, '127.0.0.30');
    assert.equal((await upgrade(server.port, '127.0.0.30')).status, 503);
    assert.equal(await flood[0]!.whoami(), flood[0]!.session);

    // A pending socket that closes frees its slot too.
    silentTcp[0]!.socket.destroy();
    await waitFor(() => server.ddp.admissionStats.socketsOpen === 6, 'the close');
    const seventh = await Peer.open(server.wsUrl, '127.0.0.30');

    assert.equal(server.ddp.admissionStats.refused['pending per address'], 3);
    const refusals = logged(server, { level: 'warn', message: 'have not completed DDP connect' });
    assert.deepEqual(refusals.map((r) => r.context?.address), ['127.0.0.30'], 'one log record per address per window');

    for (const peer of [...flood, sixth, seventh, other]) peer.close();
    silentTcp[1]!.socket.destroy();
    await waitFor(() => server.ddp.admissionStats.socketsOpen === 0, 'every socket counted out');
    assert.equal(server.ddp.admissionStats.awaitingConnect, 0);
    assert.equal(server.ddp.admissionStats.awaitingHeaders, 0);
  });
});

describe('per-address pending cap behind a proxy (httpForwardedCount: 1)', () => {
  let server: TestServer;
  before(
    async () => (server = await startTestServer(registerWhoami, { maxPendingSocketsPerAddress: 3, httpForwardedCount: 1 })),
  );
  after(() => server.close());

  test('the address is the one X-Forwarded-For resolves to; the 4th is refused with 503 before the WebSocket handshake', async () => {
    const via = (address: string) => ({ 'X-Forwarded-For': address });
    const pending = [];
    for (let i = 0; i < 3; i++) pending.push(await Peer.open(server.wsUrl, '127.0.0.1', via('198.51.100.7')));
    const refused = await upgrade(server.port, '127.0.0.1', 'X-Forwarded-For: 198.51.100.7\r\n');
    assert.equal(refused.status, 503);
    await refused.ended;
    const spoofed = await upgrade(server.port, '127.0.0.1', 'X-Forwarded-For: 203.0.113.1, 198.51.100.7\r\n');
    assert.equal(spoofed.status, 503, 'a prepended entry does not change the resolved address');
    const otherClient = await upgrade(server.port, '127.0.0.1', 'X-Forwarded-For: 198.51.100.8\r\n');
    assert.equal(otherClient.status, 101);

    // The proxy's own TCP address is not capped: every client comes through it.
    const before = server.ddp.admissionStats;
    const viaProxy = [];
    for (let i = 0; i < 5; i++) viaProxy.push(await tcp(server.port, '127.0.0.1'));
    await waitFor(() => server.ddp.admissionStats.socketsOpen === before.socketsOpen + 5, 'five more sockets');
    assert.equal(server.ddp.admissionStats.refused['pending per address'], 2);

    for (const peer of pending) peer.close();
    for (const raw of [...viaProxy, otherClient]) raw.socket.destroy();
  });

  test('a SockJS session counts as pending until connect, under the same address', async () => {
    const base = `${server.httpUrl}/sockjs/000`;
    const open = (session: string, address: string) =>
      fetch(`${base}/${session}/xhr`, { method: 'POST', headers: { 'X-Forwarded-For': address } }).then((r) => r.text());
    await waitFor(() => server.ddp.admissionStats.awaitingConnect === 0, 'the previous test to be gone');
    for (const id of ['aaaaaaa1', 'aaaaaaa2', 'aaaaaaa3']) assert.equal(await open(id, '198.51.100.9'), 'o\n');
    assert.equal(server.ddp.admissionStats.awaitingConnect, 3);
    // The 4th is closed as soon as it opens: its next poll gets the close frame, not a long wait.
    assert.equal(await open('aaaaaaa4', '198.51.100.9'), 'o\n');
    assert.match(await open('aaaaaaa4', '198.51.100.9'), /^c\[/);
    assert.equal(server.ddp.admissionStats.awaitingConnect, 3);
    assert.equal(await open('bbbbbbb1', '198.51.100.10'), 'o\n', 'another address is served');

    // Completing connect on one frees its slot.
    const send = (session: string, frame: unknown) =>
      fetch(`${base}/${session}/xhr_send`, {
        method: 'POST',
        headers: { 'X-Forwarded-For': '198.51.100.9', 'content-type': 'text/plain' },
        body: JSON.stringify([JSON.stringify(frame)]),
      });
    assert.equal((await send('aaaaaaa1', CONNECT)).status, 204);
    await waitFor(() => server.ddp.admissionStats.awaitingConnect === 3, 'aaaaaaa1 to leave the pending count');
    assert.equal(await open('aaaaaaa5', '198.51.100.9'), 'o\n');
  });
});

describe('per-address session cap (maxSessionsPerAddress)', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer(registerWhoami, { maxSessionsPerAddress: 2 })));
  after(() => server.close());

  test('a session beyond the cap from one address is refused (socket closed, no frame); another address is served; a close frees a slot', async () => {
    const first = await Peer.connect(server.wsUrl, '127.0.0.40');
    const second = await Peer.connect(server.wsUrl, '127.0.0.40');
    const third = await Peer.open(server.wsUrl, '127.0.0.40');
    third.send(CONNECT);
    await third.closed;
    assert.deepEqual(third.frames, [], 'closed without a connected (or any) frame');
    assert.equal(server.ddp.admissionStats.refused['sessions per address'], 1);
    const refusals = logged(server, { level: 'warn', message: 'Too many DDP sessions from one address' });
    assert.deepEqual(refusals.map((r) => r.context?.address), ['127.0.0.40'], describeLogs(server.logs));

    const elsewhere = await Peer.connect(server.wsUrl, '127.0.0.41');
    assert.equal(await elsewhere.whoami(), elsewhere.session);

    first.close();
    await waitFor(() => server.ddp.sessionCount === 2, 'the session to close');
    const again = await Peer.connect(server.wsUrl, '127.0.0.40');
    assert.equal(await again.whoami(), again.session);
    assert.equal(server.ddp.admissionStats.awaitingConnect, 0);

    for (const peer of [second, elsewhere, again]) peer.close();
  });
});

describe('connect deadline (connectDeadlineMs) and the pre1 idle timeout', () => {
  let server: TestServer;
  before(
    async () =>
      (server = await startTestServer(registerWhoami, { connectDeadlineMs: 300, pre1IdleTimeoutMs: 300, sockjsDisconnectDelayMs: 5000 })),
  );
  after(() => server.close());

  test('a /websocket socket that never connects, and never answers a close frame, is fully closed (TCP) soon after the deadline', async () => {
    const silent = await upgrade(server.port, '127.0.0.50');
    assert.equal(silent.status, 101);
    const upgradedAt = Date.now();
    const closedAt = await silent.ended;
    assert.ok(closedAt - upgradedAt >= 250, `closed after ${closedAt - upgradedAt} ms`);
    assert.ok(closedAt - upgradedAt < 1500, `closed after ${closedAt - upgradedAt} ms; connectDeadlineMs is 300`);
    await waitFor(() => server.ddp.admissionStats.awaitingConnect === 0, 'the pending count to drop');
  });

  test('a SockJS session that never connects is closed at the deadline too', async () => {
    const base = `${server.httpUrl}/sockjs/000/ccccccc1`;
    assert.equal(await (await fetch(`${base}/xhr`, { method: 'POST' })).text(), 'o\n');
    const started = Date.now();
    // The long poll is answered with the close frame when the deadline passes.
    const poll = await (await fetch(`${base}/xhr`, { method: 'POST' })).text();
    assert.match(poll, /^c\[/);
    assert.ok(Date.now() - started < 1500, `closed after ${Date.now() - started} ms`);
    assert.equal(server.ddp.admissionStats.awaitingConnect, 0);
  });

  test('a pre1 session silent for pre1IdleTimeoutMs is closed; one that keeps talking is not', async () => {
    const silent = await Peer.connect(server.wsUrl, '127.0.0.51', 'pre1');
    const talker = await Peer.connect(server.wsUrl, '127.0.0.52', 'pre1');
    const started = Date.now();
    let silentClosedAt = 0;
    void silent.closed.then(() => (silentClosedAt = Date.now()));
    // The talker sends a method every 100 ms, past the silent one's close.
    while (!silentClosedAt || Date.now() - started < 600) {
      assert.equal(await talker.whoami(), talker.session);
      await new Promise((resolve) => setTimeout(resolve, 100)); // the talker's pace: the behaviour under test
    }
    assert.ok(silentClosedAt - started >= 250 && silentClosedAt - started < 1500, `closed after ${silentClosedAt - started} ms`);
    assert.equal(talker.ws.readyState, WebSocket.OPEN);
    const reaped = logged(server, { message: 'DDP session closed', context: { reason: 'idle timeout' } });
    assert.deepEqual(reaped.map((r) => r.context?.session), [silent.session], 'the silent session only');

    const quietAt = Date.now();
    await talker.closed;
    assert.ok(Date.now() - quietAt < 1500, 'and once it falls silent, it is closed too');
  });

  test('a version "1" session is not reaped by the pre1 timeout (it has heartbeats)', async () => {
    const modern = await Peer.connect(server.wsUrl, '127.0.0.53');
    // A fixed wait past pre1IdleTimeoutMs (300): only time can show that a timer did not fire.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await modern.whoami(), modern.session);
    modern.close();
  });
});

/**
 * The repro itself, in a child process whose open-file limit is small
 * enough to reach: at the limit, accept() and open() fail with EMFILE.
 */
describe('at the open-file limit (child process with a low ulimit -n)', { skip: process.platform !== 'linux' && 'needs Linux (/proc/self/limits, ulimit)' }, () => {
  const ddpServerModule = new URL('../../imports/ddp/ddp-server.ts', import.meta.url).href;
  const loggerModule = new URL('../../imports/log/logger.ts', import.meta.url).href;
  const childCode = `
    const { createServer } = await import('node:http');
    const { DdpServer } = await import(process.env.DDP_SERVER_MODULE);
    const { createLogger } = await import(process.env.LOGGER_MODULE);
    const ddp = new DdpServer(JSON.parse(process.env.DDP_OPTIONS), createLogger('debug', undefined, { format: 'json' }));
    ddp.methods({ whoami() { return this.connection.id; } });
    const http = createServer();
    ddp.attach(http);
    http.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: http.address().port })));
    process.on('message', () => process.send(ddp.admissionStats));
  `;

  async function startChild(openFileLimit: number, options: Record<string, unknown>) {
    const child: ChildProcess = spawn(
      'bash',
      ['-c', `ulimit -n ${openFileLimit} && exec "$0" --import tsx --input-type=module -e "$CHILD_CODE"`, process.execPath],
      {
        cwd: new URL('../..', import.meta.url).pathname,
        env: { ...process.env, CHILD_CODE: childCode, DDP_SERVER_MODULE: ddpServerModule, LOGGER_MODULE: loggerModule, DDP_OPTIONS: JSON.stringify(options) },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      child.stdout!.on('data', (chunk) => {
        stdout += chunk;
        const line = /\{"port":\d+\}/.exec(stdout);
        if (line) resolve(JSON.parse(line[0]).port);
      });
      void exited.then((code) => reject(new Error(`child exited (${code}): ${stderr}`)));
    });
    const stats = () =>
      new Promise<{ socketsOpen: number; maxSockets: number; acceptErrors: number; refused: Record<string, number> }>((resolve) => {
        child.once('message', resolve as (m: unknown) => void);
        child.send('stats');
      });
    /** The child's log records (JSON lines on its stderr), parsed. */
    const logs = () =>
      stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { child, port, stats, logs, stderr: () => stderr, exited };
  }

  test('with maxSockets automatic, sockets beyond the open-file limit less headroom get 503 and the process keeps serving', async () => {
    const server = await startChild(256, { fileDescriptorHeadroom: 64 });
    try {
      const held: Array<Awaited<ReturnType<typeof tcp>>> = [];
      for (let i = 0; i < 230; i++) held.push(await tcp(server.port, `127.0.1.${1 + (i % 10)}`));
      const { maxSockets } = await server.stats();
      assert.equal(maxSockets, 192);
      // Every socket beyond the cap was answered and closed.
      for (const raw of held.slice(192)) await raw.ended;
      assert.equal(held.filter((raw) => /^HTTP\/1\.1 503 /.test(raw.text())).length, 230 - 192);
      const stats = await server.stats();
      assert.equal(stats.socketsOpen, 192);
      assert.equal(stats.acceptErrors, 0, 'accept() never met EMFILE');
      const capFrom = server.logs().filter((r) => r.msg === 'Socket cap from the open-file limit in /proc/self/limits');
      assert.deepEqual(capFrom.map((r) => [r.level, r.openFileLimit, r.maxSockets]), [['info', 256, 192]], server.stderr());

      for (const raw of held.slice(0, 10)) raw.socket.destroy();
      while ((await server.stats()).socketsOpen > 182);
      const fresh = await Peer.connect(`ws://127.0.0.1:${server.port}/websocket`, '127.0.1.20');
      assert.equal(await fresh.whoami(), fresh.session);
      fresh.close();
      for (const raw of held) raw.socket.destroy();
    } finally {
      server.child.kill();
      await server.exited;
    }
  });

  test('past the open-file limit (maxSockets set above it) the process survives, and serves again once sockets close', async () => {
    const server = await startChild(128, { maxSockets: 1000 });
    try {
      const held: Array<Awaited<ReturnType<typeof tcp>>> = [];
      for (let i = 0; i < 160; i++) held.push(await tcp(server.port, `127.0.2.${1 + (i % 10)}`));
      // libuv keeps a spare descriptor for this: at EMFILE it accepts and
      // closes what is queued; if even that fails, the server emits an
      // accept error, which admission control logs (see the test below).
      await waitFor(() => held.some((raw) => raw.socket.destroyed), 'connections beyond the limit to be dropped');
      const stats = await server.stats();
      assert.ok(stats.socketsOpen < 128, `${stats.socketsOpen} sockets open`);
      assert.equal(server.child.exitCode, null, 'still running');

      for (const raw of held) raw.socket.destroy();
      while ((await server.stats()).socketsOpen > 0);
      const fresh = await Peer.connect(`ws://127.0.0.1:${server.port}/websocket`, '127.0.2.20');
      assert.equal(await fresh.whoami(), fresh.session);
      fresh.close();
    } finally {
      server.child.kill();
      await server.exited;
    }
  });
});
