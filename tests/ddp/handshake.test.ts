import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UNMISTAKABLE_CHARS } from '../../imports/ddp/random-id';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

describe('DDP handshake (DDP.md "connect")', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(() => server.close());

  test('connect answers exactly {msg:"connected", session} with a 17-char Random.id', async () => {
    const client = await RawDdpClient.open(server.wsUrl);
    client.send({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] });
    await client.next();
    assert.equal(client.rawFrames.length, 1, 'the connected frame is the first frame');
    const frame = JSON.parse(client.rawFrames[0]!);
    assert.deepEqual(Object.keys(frame), ['msg', 'session']);
    assert.equal(frame.msg, 'connected');
    assert.equal(frame.session.length, 17);
    for (const ch of frame.session) assert.ok(UNMISTAKABLE_CHARS.includes(ch), `unexpected char ${ch}`);
    client.close();
  });

  test('session ids are unique per connection', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { client, session } = await RawDdpClient.connect(server.wsUrl);
      ids.add(session);
      client.close();
    }
    assert.equal(ids.size, 20);
  });

  for (const version of ['pre2', 'pre1']) {
    test(`version ${version} is accepted when it is the client's only choice`, async () => {
      const client = await RawDdpClient.open(server.wsUrl);
      client.send({ msg: 'connect', version, support: [version] });
      assert.equal((await client.next()).msg, 'connected');
      client.close();
    });
  }

  test('a version the server would not pick first gets failed with the suggestion, then close', async () => {
    const client = await RawDdpClient.open(server.wsUrl);
    client.send({ msg: 'connect', version: 'pre1', support: ['1', 'pre1'] });
    assert.deepEqual(await client.next(), { msg: 'failed', version: '1' });
    await client.closed;
  });

  test('an unknown version gets failed with "1", then close', async () => {
    const client = await RawDdpClient.open(server.wsUrl);
    client.send({ msg: 'connect', version: '2', support: ['2'] });
    assert.deepEqual(await client.next(), { msg: 'failed', version: '1' });
    await client.closed;
  });

  test('a connect whose version is not in its own support list gets failed', async () => {
    const client = await RawDdpClient.open(server.wsUrl);
    client.send({ msg: 'connect', version: '1', support: ['pre2'] });
    assert.deepEqual(await client.next(), { msg: 'failed', version: '1' });
    await client.closed;
  });

  test('unknown client versions are skipped when negotiating', async () => {
    const client = await RawDdpClient.open(server.wsUrl);
    client.send({ msg: 'connect', version: 'pre2', support: ['7', 'pre2', '1'] });
    assert.equal((await client.next()).msg, 'connected');
    client.close();
  });

  test('the endpoint also answers at /websocket/ with a trailing slash', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl + '/');
    client.close();
  });
});
