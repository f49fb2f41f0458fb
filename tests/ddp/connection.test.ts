import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionHandle } from '../../imports/ddp/connection-handle';
import { resolveClientAddress } from '../../imports/ddp/connection-handle';
import { waitFor } from '../helpers/app-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

describe('the connection object', () => {
  let server: TestServer;
  const seen = new Map<string, ConnectionHandle>();
  const events: string[] = [];
  const fromMethods = new Map<string, ConnectionHandle>();
  const fromPublications = new Map<string, ConnectionHandle>();

  before(
    async () =>
      (server = await startTestServer((meteor) => {
        meteor.onConnection((connection) => {
          seen.set(connection.id, connection);
          connection.onClose(() => events.push(`onClose ${connection.id}`));
        });
        meteor.methods({
          grab() {
            fromMethods.set(this.connection.id, this.connection);
            return this.connection.clientAddress;
          },
          kickMe() {
            this.connection.close();
          },
        });
        meteor.publish('watched', function (this: any) {
          fromPublications.set(this.connection.id, this.connection);
          this.onStop(() => events.push(`onStop ${this.connection.id}`));
          this.ready();
        });
      })),
  );
  after(() => server.close());

  test('onConnection gets {id, clientAddress, httpHeaders, close, onClose}', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl, {
      cookie: 'secret=1', authorization: 'Bearer x', 'user-agent': 'test-agent/1.0', 'accept-language': 'fr',
    });
    const connection = seen.get(session)!;
    assert.deepEqual(Object.keys(connection).sort(), ['clientAddress', 'close', 'httpHeaders', 'id', 'onClose']);
    assert.equal(connection.id, session);
    assert.equal(connection.clientAddress, '127.0.0.1');
    assert.equal(connection.httpHeaders['user-agent'], 'test-agent/1.0');
    assert.equal(connection.httpHeaders['accept-language'], 'fr');
    assert.equal(connection.httpHeaders.cookie, undefined, 'cookies never reach app code');
    assert.equal(connection.httpHeaders.authorization, undefined);
    assert.ok(Object.keys(connection.httpHeaders).every((h) => !['connection', 'upgrade', 'sec-websocket-key'].includes(h)));
    client.close();
  });

  test('the same object is this.connection in methods and publications', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: '1', method: 'grab', params: [] });
    client.send({ msg: 'sub', id: 's', name: 'watched' });
    await client.until((f) => f.msg === 'ready');
    assert.equal(fromMethods.get(session), seen.get(session));
    assert.equal(fromPublications.get(session), seen.get(session));
    client.close();
  });

  test('on close, subscriptions\' onStop run first, then onClose callbacks', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 's', name: 'watched' });
    await client.until((f) => f.msg === 'ready');
    client.close();
    await client.closed;
    await waitFor(() => events.includes(`onClose ${session}`), 2000, 'the onClose callback');
    const mine = events.filter((e) => e.endsWith(session));
    assert.deepEqual(mine, [`onStop ${session}`, `onClose ${session}`]);
  });

  test('an onClose registered after close runs at once', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    client.close();
    await client.closed;
    // The callback registered at connection time has run: the close is complete.
    await waitFor(() => events.includes(`onClose ${session}`), 2000, 'the close to complete');
    let ran = false;
    seen.get(session)!.onClose(() => (ran = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(ran, true);
  });

  test('connection.close() from a method closes the socket and runs onClose', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'method', id: 'k', method: 'kickMe', params: [] });
    await client.closed;
    await waitFor(() => events.includes(`onClose ${session}`), 2000, 'onClose to run');
  });

  test('HTTP_FORWARDED_COUNT picks the address our own proxy saw', async () => {
    const proxied = await startTestServer((meteor) => meteor.methods({
      address() {
        return this.connection.clientAddress;
      },
    }), { httpForwardedCount: 1 });
    const { client } = await RawDdpClient.connect(proxied.wsUrl, { 'x-forwarded-for': '6.6.6.6, 10.0.0.7' });
    client.send({ msg: 'method', id: '1', method: 'address', params: [] });
    assert.equal((await client.until((f) => f.msg === 'result')).result, '10.0.0.7');
    const { client: direct } = await RawDdpClient.connect(proxied.wsUrl);
    direct.send({ msg: 'method', id: '1', method: 'address', params: [] });
    assert.equal((await direct.until((f) => f.msg === 'result')).result, null, 'no X-Forwarded-For → null');
    client.close();
    direct.close();
    await proxied.close();
  });

  test('resolveClientAddress follows Meteor for every count', () => {
    const h = { 'x-forwarded-for': ' 1.1.1.1 , 2.2.2.2,3.3.3.3 ' };
    assert.equal(resolveClientAddress('9.9.9.9', h, 0), '9.9.9.9');
    assert.equal(resolveClientAddress('9.9.9.9', h, 1), '3.3.3.3');
    assert.equal(resolveClientAddress('9.9.9.9', h, 3), '1.1.1.1');
    assert.equal(resolveClientAddress('9.9.9.9', h, 4), null);
    assert.equal(resolveClientAddress('9.9.9.9', h, -1), null);
    assert.equal(resolveClientAddress('9.9.9.9', {}, 1), null);
  });
});
