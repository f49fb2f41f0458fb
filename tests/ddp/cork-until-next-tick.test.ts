import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { corkUntilNextTick } from '../../imports/ddp/transports/cork-until-next-tick';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';

/** A stream that records each write the way a socket would make it: one entry per syscall-to-be. */
function recordingStream() {
  const writes: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push([chunk.toString()]);
      callback();
    },
    writev(chunks, callback) {
      writes.push(chunks.map((c) => String(c.chunk)));
      callback();
    },
  });
  return { stream, writes };
}

/** Counts the writes (_write/_writev calls: what become syscalls) of every socket the server accepts. */
function countServerWrites(server: TestServer): { count: number } {
  const counter = { count: 0 };
  server.http.on('connection', (socket: Socket) => {
    const s = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const write = s._write;
    const writev = s._writev;
    s._write = function (this: unknown, ...args: unknown[]) {
      counter.count++;
      return write.apply(this, args);
    };
    s._writev = function (this: unknown, ...args: unknown[]) {
      counter.count++;
      return writev.apply(this, args);
    };
  });
  return counter;
}

describe('corkUntilNextTick: the frames of one run of JavaScript leave in one write', () => {
  test('writes in the same tick are held, then go out together, in order', async () => {
    const { stream, writes } = recordingStream();
    corkUntilNextTick(stream);
    stream.write('a');
    corkUntilNextTick(stream); // already corked: not corked twice
    stream.write('b');
    stream.write('c');
    assert.equal(stream.writableCorked, 1);
    assert.deepEqual(writes, [], 'nothing written synchronously');
    await new Promise((r) => process.nextTick(r));
    assert.deepEqual(writes, [['a', 'b', 'c']]);
    assert.equal(stream.writableCorked, 0);
  });

  test('a nested cork (ws around a frame\'s header and body) stays inside ours', async () => {
    const { stream, writes } = recordingStream();
    corkUntilNextTick(stream);
    for (const frame of ['1', '2']) {
      stream.cork();
      stream.write(`h${frame}`);
      stream.write(`b${frame}`);
      stream.uncork();
    }
    assert.deepEqual(writes, []);
    await new Promise((r) => process.nextTick(r));
    assert.deepEqual(writes, [['h1', 'b1', 'h2', 'b2']]);
  });

  test('end() in the same tick flushes what is corked; a destroyed stream is left alone', async () => {
    const { stream, writes } = recordingStream();
    corkUntilNextTick(stream);
    stream.write('last');
    stream.end();
    await new Promise((r) => stream.on('finish', r));
    assert.deepEqual(writes.flat(), ['last']);
    const gone = recordingStream().stream;
    gone.destroy();
    corkUntilNextTick(gone);
    assert.equal(gone.writableCorked, 0);
  });
});

describe('/websocket sends a burst of frames with a write or two, not one per frame', () => {
  let server: TestServer;
  let writes: { count: number };
  before(async () => {
    server = await startTestServer((meteor) => {
      meteor.publish('burst', function (this: any, n: number) {
        for (let i = 0; i < n; i++) this.added('things', `t${i}`, { i });
        this.ready();
      });
    });
    writes = countServerWrites(server);
  });
  after(() => server.close());

  test('200 added and ready: every frame, in order, in at most two writes', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    await client.pingRoundTrip(); // the handshake's writes are done: they went out before the pong
    const before = writes.count;
    client.send({ msg: 'sub', id: 's', name: 'burst', params: [200] });
    await client.until((f) => f.msg === 'ready', 2000);
    const frames = client.frames.filter((f) => f.msg === 'added' || f.msg === 'ready');
    assert.deepEqual(frames.map((f) => (f.msg === 'added' ? f.id : 'ready')), [...Array.from({ length: 200 }, (_, i) => `t${i}`), 'ready']);
    assert.ok(writes.count - before <= 2, `${writes.count - before} writes for 201 frames`);
    client.close();
  });

  test('a ping is still answered at once (nothing waits for a later turn)', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    const started = performance.now();
    client.send({ msg: 'ping', id: 'p' });
    const pong = await client.until((f) => f.msg === 'pong', 1000);
    assert.deepEqual(pong, { msg: 'pong', id: 'p' });
    assert.ok(performance.now() - started < 200);
    client.close();
  });
});
