import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/app-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

describe('liveness: ping/pong and the server heartbeat', () => {
  let server: TestServer;
  const closedConnections: string[] = [];
  before(
    async () =>
      (server = await startTestServer(
        (meteor) => meteor.onConnection((c) => c.onClose(() => closedConnections.push(c.id))),
        { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 100 },
      )),
  );
  after(() => server.close());

  test('ping with id → pong with the same id; without id → bare pong', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'ping', id: 'p1' });
    assert.deepEqual(await client.next(), { msg: 'pong', id: 'p1' });
    client.send({ msg: 'ping' });
    assert.equal(await client.next().then(() => client.rawFrames.at(-1)), '{"msg":"pong"}');
    client.close();
  });

  test('pong from the client is accepted silently', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'pong', id: 'x' });
    // Handled in order: the next answer is the later ping's, nothing for the pong (server pings are skipped).
    client.send({ msg: 'ping', id: 'after' });
    assert.deepEqual(await client.next(), { msg: 'pong', id: 'after' });
    client.close();
  });

  test('pre1 has no ping: a ping is a Bad request there', async () => {
    const client = await RawDdpClient.open(server.wsUrl);
    client.send({ msg: 'connect', version: 'pre1', support: ['pre1'] });
    await client.next();
    client.send({ msg: 'ping' });
    assert.deepEqual(await client.next(), { msg: 'error', reason: 'Bad request', offendingMessage: { msg: 'ping' } });
    client.close();
  });

  test('a silent client gets a server ping, and is closed when it does not answer', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    const ping = await client.next(1000, { skipPings: false });
    assert.deepEqual(ping, { msg: 'ping' });
    const started = Date.now();
    await client.closed;
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 500, `closed ${elapsed} ms after the ping`);
    await waitFor(() => closedConnections.includes(session), 2000, 'onClose to run after the heartbeat timeout');
  });

  test('a client that answers pings (or sends anything) stays connected', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    let pings = 0;
    client.ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.msg === 'ping') {
        pings++;
        client.send({ msg: 'pong' });
      }
    });
    // A server ping comes only once the previous one was answered in time (else the session closes 100 ms after it):
    // the 4th ping shows three pongs accepted.
    await waitFor(() => pings >= 4 || client.ws.readyState !== client.ws.OPEN, 3000, 'four heartbeat rounds');
    assert.equal(client.ws.readyState, client.ws.OPEN);
    assert.ok(pings >= 4, `${pings} pings`);
    client.close();
  });

  test('an abruptly vanished socket (no close frame, no FIN reaching us) is closed by the heartbeat', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    // Stop reading without closing: the server sees silence only.
    (client.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    await waitFor(() => closedConnections.includes(session), 2000, 'the heartbeat to close the session');
    client.ws.terminate();
  });

  test('heartbeatIntervalMs = 0 disables pings', async () => {
    const quiet = await startTestServer(() => {}, { heartbeatIntervalMs: 0 });
    const { client } = await RawDdpClient.connect(quiet.wsUrl);
    // A fixed wait (two of the suite's intervals): only time can show that no ping timer runs.
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!client.frames.some((f) => f.msg === 'ping'));
    client.close();
    await quiet.close();
  });
});
