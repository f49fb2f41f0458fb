import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import SockJS from 'sockjs-client';
import { waitFor } from '../helpers/app-test-server';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

/** A DDP conversation over sockjs-client, the client library Meteor's browser bundle is built on. */
async function sockjsConversation(url: string, transports: string[]) {
  const sock = new SockJS(url, null, { transports });
  const frames: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  sock.onmessage = (e: { data: string }) => {
    frames.push(JSON.parse(e.data));
    for (const w of waiters.splice(0)) w();
  };
  await new Promise<void>((resolve, reject) => {
    sock.onopen = () => resolve();
    sock.onerror = reject;
  });
  const until = async (pred: (f: Record<string, unknown>) => boolean) => {
    const deadline = Date.now() + 3000;
    for (;;) {
      const hit = frames.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error('timeout; frames: ' + JSON.stringify(frames));
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50); // wakes the loop to check the deadline; a frame wakes it sooner
      });
    }
  };
  return { sock, frames, until, send: (m: unknown) => sock.send(JSON.stringify(m)) };
}

describe('SockJS transport (sockjs@0.3.24 under /sockjs)', () => {
  let server: TestServer;
  before(
    async () =>
      (server = await startTestServer((meteor) => {
        meteor.methods({
          whoAmI() {
            return { id: this.connection.id, headers: this.connection.httpHeaders };
          },
        });
        meteor.publish('burst', function (this: any, n: number) {
          for (let i = 0; i < n; i++) this.added('things', `t${i}`, { i });
          this.ready();
        });
      },
      { maxFrameBytes: 4096 })),
  );
  after(() => server.close());

  for (const transports of [['websocket'], ['xhr-streaming'], ['xhr-polling']]) {
    test(`connect, call a method over ${transports[0]}`, async () => {
      const c = await sockjsConversation(`${server.httpUrl}/sockjs`, transports);
      c.send({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] });
      const connected = await c.until((f) => f.msg === 'connected');
      assert.equal((connected.session as string).length, 17);
      c.send({ msg: 'method', id: '1', method: 'whoAmI', params: [] });
      const result = await c.until((f) => f.msg === 'result');
      assert.equal((result.result as { id: string }).id, connected.session);
      c.sock.close();
    });
  }

  for (const transports of [['websocket'], ['xhr-streaming'], ['xhr-polling']]) {
    test(`a burst of frames in one run (corked writes) arrives whole and in order over ${transports[0]}`, async () => {
      const c = await sockjsConversation(`${server.httpUrl}/sockjs`, transports);
      c.send({ msg: 'connect', version: '1', support: ['1'] });
      await c.until((f) => f.msg === 'connected');
      c.send({ msg: 'sub', id: 's', name: 'burst', params: [300] });
      await c.until((f) => f.msg === 'ready');
      const frames = c.frames.filter((f) => f.msg === 'added' || f.msg === 'ready');
      assert.deepEqual(frames.map((f) => (f.msg === 'added' ? f.id : 'ready')), [...Array.from({ length: 300 }, (_, i) => `t${i}`), 'ready']);
      c.sock.close();
    });
  }

  test('bad input over SockJS gets the same reply', async () => {
    const c = await sockjsConversation(`${server.httpUrl}/sockjs`, ['xhr-polling']);
    c.sock.send('not json');
    assert.deepEqual(await c.until((f) => f.msg === 'error'), { msg: 'error', reason: 'Bad request' });
    c.sock.close();
  });

  test('a frame over maxFrameBytes closes that SockJS socket', async () => {
    const c = await sockjsConversation(`${server.httpUrl}/sockjs`, ['websocket']);
    c.send({ msg: 'connect', version: '1', support: ['1'] });
    await c.until((f) => f.msg === 'connected');
    const closed = new Promise<{ code: number }>((resolve) => (c.sock.onclose = resolve));
    c.send({ msg: 'method', id: '1', method: 'whoAmI', params: ['x'.repeat(5000)] });
    assert.equal((await closed).code, 1009);
  });

  test('sockjs info endpoint answers like Meteor\'s', async () => {
    const res = await fetch(`${server.httpUrl}/sockjs/info`);
    const info = (await res.json()) as { websocket: boolean };
    assert.equal(info.websocket, true);
  });

  test('no sessions remain once SockJS clients are gone', async () => {
    await waitFor(() => server.ddp.sessionCount === 0, 3000, 'every SockJS session closed');
  });
});
