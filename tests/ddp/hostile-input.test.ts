import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { spawnApp, type AppProcess } from '../helpers/app-process';

/**
 * Issue 9's one-client crashes, against the real app as a child process (a
 * crash shows as an exit, not as a dead test runner). After every attack the
 * process must be alive and a fresh client must get its session id.
 */
async function assertAliveAndServing(app: AppProcess): Promise<void> {
  assert.equal(app.child.exitCode, null, 'process exited: ' + app.output.slice(-5).join('\n'));
  const { client, session } = await RawDdpClient.connect(app.wsUrl);
  client.send({ msg: 'method', id: 'who', method: 'getSessionId', params: [] });
  const result = await client.until((f) => f.msg === 'result');
  assert.equal(result.result, session);
  client.close();
}

function openWebSocket(url: string): Promise<{ ws: WebSocket; frames: string[]; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(data.toString()));
  ws.on('error', () => {});
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames, closed }));
    ws.once('error', reject);
  });
}

async function waitForFrame(frames: string[], predicate: (frame: string) => boolean, ms = 2000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = frames.find(predicate);
    if (hit !== undefined) return hit;
    if (Date.now() > deadline) throw new Error('no matching frame; got ' + JSON.stringify(frames));
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('hostile input: one client cannot take the process down', () => {
  let app: AppProcess;
  before(async () => (app = await spawnApp({})));
  after(() => app.kill('SIGKILL'));

  const nonStringFrames: Array<string | Buffer> = ['[1]', '1', '{}', 'true', 'null', '[null]', '[{}]', '[["a"]]', Buffer.from([0x5b, 0x31, 0x5d])];
  for (const frame of nonStringFrames) {
    const label = Buffer.isBuffer(frame) ? 'a binary frame' : frame;
    test(`SockJS session WebSocket, frame ${label}: Bad request, process alive`, async () => {
      const sid = randomBytes(4).toString('hex');
      const { ws, frames } = await openWebSocket(`${app.url.replace('http', 'ws')}/sockjs/123/${sid}/websocket`);
      await waitForFrame(frames, (f) => f === 'o');
      ws.send(frame);
      // Each non-string message is answered as DDP answers a non-object frame.
      const reply = await waitForFrame(frames, (f) => f.startsWith('a['));
      const messages = (JSON.parse(reply.slice(1)) as string[]).map((m) => JSON.parse(m) as Record<string, unknown>);
      assert.ok(messages.every((m) => m.msg === 'error' && m.reason === 'Bad request'), reply);
      ws.close();
      await assertAliveAndServing(app);
    });
  }

  test('SockJS session WebSocket, a failed connect followed by more messages in the same frame: process alive', async () => {
    // Found by the fuzz suite: closing the session inside sockjs's loop over one frame's messages crashed the process.
    const sid = randomBytes(4).toString('hex');
    const { ws, frames, closed } = await openWebSocket(`${app.url.replace('http', 'ws')}/sockjs/123/${sid}/websocket`);
    await waitForFrame(frames, (f) => f === 'o');
    ws.send(JSON.stringify([JSON.stringify({ msg: 'connect' }), JSON.stringify({ msg: 'unsub' }), '{}']));
    await closed;
    await assertAliveAndServing(app);
  });

  test('raw SockJS WebSocket, one frame over maxFrameBytes: closed 1009, process alive', async () => {
    const { ws, closed } = await openWebSocket(`${app.url.replace('http', 'ws')}/sockjs/websocket`);
    ws.send('x'.repeat(1024 * 1024 + 1));
    assert.equal(await closed, 1009);
    await assertAliveAndServing(app);
  });

  test('SockJS session WebSocket, one frame over maxFrameBytes: closed 1009 before it is buffered', async () => {
    const sid = randomBytes(4).toString('hex');
    const { ws, frames, closed } = await openWebSocket(`${app.url.replace('http', 'ws')}/sockjs/123/${sid}/websocket`);
    await waitForFrame(frames, (f) => f === 'o');
    ws.send(JSON.stringify(['x'.repeat(1024 * 1024 + 1)]));
    assert.equal(await closed, 1009);
    await assertAliveAndServing(app);
  });

  test('xhr_send with non-string messages: 204 and a Bad request frame, process alive', async () => {
    const base = `${app.url}/sockjs/000/${randomBytes(4).toString('hex')}`;
    assert.equal((await fetch(`${base}/xhr`, { method: 'POST' })).status, 200); // "o"
    const sent = await fetch(`${base}/xhr_send`, { method: 'POST', body: '[1,{},null]' });
    assert.equal(sent.status, 204);
    const poll = await (await fetch(`${base}/xhr`, { method: 'POST' })).text();
    const messages = (JSON.parse(poll.slice(1)) as string[]).map((m) => JSON.parse(m) as Record<string, unknown>);
    assert.deepEqual(messages.map((m) => m.reason), ['Bad request', 'Bad request', 'Bad request']);
    await assertAliveAndServing(app);
  });
});
