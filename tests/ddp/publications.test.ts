import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import simpleDDP from 'simpleddp';
import WebSocket from 'ws';
import { MemoryCollection } from '../../imports/store/memory-collection';
import { waitFor } from '../helpers/app-test-server';
import { describeLogs, matching } from '../helpers/capture-logger';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';

type Item = { _id: string; n: number; tag?: string };

describe('publications (DDP.md "Managing data")', () => {
  let server: TestServer;
  const items = new MemoryCollection<Item>('items');
  const others = new MemoryCollection<Item>('others');
  const stopped: string[] = [];

  before(async () => {
    await items.insertAsync({ _id: 'a', n: 1, tag: 'x' });
    await items.insertAsync({ _id: 'b', n: 2 });
    await others.insertAsync({ _id: 'o', n: 9 });
    server = await startTestServer((meteor) => {
      meteor.publish('manual', function (this: any, label: string) {
        this.added('things', 't1', { label, when: new Date(0) });
        this.changed('things', 't1', { label: label + '!' });
        this.ready();
        this.onStop(() => stopped.push(label));
      });
      meteor.publish('manualRemove', function (this: any) {
        this.added('things', 't2', { a: 1 });
        this.removed('things', 't2');
        this.ready();
      });
      meteor.publish('items.all', () => items.find({}));
      meteor.publish('items.small', () => items.find({ n: { $lt: 2 } }, { fields: { tag: 0 } }));
      meteor.publish('two', () => [items.find({ _id: 'a' }), others.find({})]);
      meteor.publish('sameDocA', function (this: any) {
        this.added('shared', 'd', { x: 1, onlyA: true });
        this.ready();
      });
      meteor.publish('sameDocB', function (this: any) {
        this.added('shared', 'd', { x: 2, onlyB: true });
        this.ready();
      });
      meteor.publish('fails', function (this: any) {
        this.error(new meteor.Error('denied', 'No access'));
      });
      meteor.publish('throws', () => {
        throw new Error('hidden');
      });
      meteor.publish('badReturn', () => 42);
      meteor.publish('stopsItself', function (this: any) {
        this.stop();
      });
      meteor.publish('who', function (this: any) {
        this.added('who', this.connection.id, { userId: this.userId });
        this.ready();
      });
      meteor.publish('empty', function (this: any) {
        this.ready();
      });
    });
  });
  after(() => server.close());

  test('added/changed/ready from the low-level API, exact frames', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 's1', name: 'manual', params: ['hi'] });
    assert.deepEqual(await client.next(), { msg: 'added', collection: 'things', id: 't1', fields: { label: 'hi', when: { $date: 0 } } });
    assert.deepEqual(await client.next(), { msg: 'changed', collection: 'things', id: 't1', fields: { label: 'hi!' } });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['s1'] });
    client.send({ msg: 'unsub', id: 's1' });
    assert.deepEqual(await client.next(), { msg: 'removed', collection: 'things', id: 't1' });
    assert.deepEqual(await client.next(), { msg: 'nosub', id: 's1' });
    await waitFor(() => stopped.includes('hi'), 2000, 'onStop to run on unsub');
    client.close();
  });

  test('this.removed sends removed', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 's', name: 'manualRemove' });
    assert.equal((await client.next()).msg, 'added');
    assert.deepEqual(await client.next(), { msg: 'removed', collection: 'things', id: 't2' });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['s'] });
    client.close();
  });

  test('a returned cursor is published, then live; fields option applies', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'c', name: 'items.small' });
    assert.deepEqual(await client.next(), { msg: 'added', collection: 'items', id: 'a', fields: { n: 1 } });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['c'] });
    await items.insertAsync({ _id: 'z', n: 0, tag: 'secret' });
    assert.deepEqual(await client.next(), { msg: 'added', collection: 'items', id: 'z', fields: { n: 0 } });
    await items.updateAsync({ _id: 'z' }, { $set: { n: -1 } });
    assert.deepEqual(await client.next(), { msg: 'changed', collection: 'items', id: 'z', fields: { n: -1 } });
    await items.updateAsync({ _id: 'z' }, { $set: { n: 5 } });
    assert.deepEqual(await client.next(), { msg: 'removed', collection: 'items', id: 'z' });
    // The store notifies observers inside the write, so a frame for it would already be on the socket, ahead of the pong.
    const sent = client.frames.length;
    await items.removeAsync({ _id: 'z' });
    await client.pingRoundTrip();
    assert.deepEqual(client.frames.slice(sent).filter((f) => f.msg !== 'pong'), []);
    client.close();
  });

  test('an array of cursors is published, then ready once', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'two', name: 'two' });
    const frames = [await client.next(), await client.next(), await client.next()];
    assert.deepEqual(
      frames.filter((f) => f.msg === 'added').map((f) => `${f.collection}/${f.id}`).sort(),
      ['items/a', 'others/o'],
    );
    assert.deepEqual(frames[2], { msg: 'ready', subs: ['two'] });
    client.close();
  });

  test('unknown publication → nosub with 404', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'u', name: 'nope' });
    assert.deepEqual(await client.next(), {
      msg: 'nosub', id: 'u',
      error: { isClientSafe: true, error: 404, reason: "Subscription 'nope' not found", message: "Subscription 'nope' not found [404]", errorType: 'Meteor.Error' },
    });
    client.close();
  });

  test('unsub of an unknown id still answers nosub', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'unsub', id: 'never' });
    assert.deepEqual(await client.next(), { msg: 'nosub', id: 'never' });
    client.close();
  });

  test('merge box: the same document from two subs is sent once; fields merge; unsub keeps the other', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'A', name: 'sameDocA' });
    assert.deepEqual(await client.next(), { msg: 'added', collection: 'shared', id: 'd', fields: { x: 1, onlyA: true } });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['A'] });
    client.send({ msg: 'sub', id: 'B', name: 'sameDocB' });
    // x stays 1 (first sub wins); only the new field is sent.
    assert.deepEqual(await client.next(), { msg: 'changed', collection: 'shared', id: 'd', fields: { onlyB: true } });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['B'] });
    client.send({ msg: 'unsub', id: 'A' });
    assert.deepEqual(await client.next(), { msg: 'changed', collection: 'shared', id: 'd', fields: { x: 2 }, cleared: ['onlyA'] });
    assert.deepEqual(await client.next(), { msg: 'nosub', id: 'A' });
    client.send({ msg: 'unsub', id: 'B' });
    assert.deepEqual(await client.next(), { msg: 'removed', collection: 'shared', id: 'd' });
    assert.deepEqual(await client.next(), { msg: 'nosub', id: 'B' });
    client.close();
  });

  test('two subs on one cursor-published document: one added, removed only when both are gone', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: '1', name: 'items.all' });
    await client.until((f) => f.msg === 'ready');
    const addedCount = client.frames.filter((f) => f.msg === 'added').length;
    client.send({ msg: 'sub', id: '2', name: 'items.all' });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['2'] });
    assert.equal(client.frames.filter((f) => f.msg === 'added').length, addedCount, 'no second added');
    client.send({ msg: 'unsub', id: '1' });
    assert.deepEqual(await client.next(), { msg: 'nosub', id: '1' });
    client.close();
  });

  test('this.error → nosub with the client-safe error', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'f', name: 'fails' });
    const nosub = await client.next();
    assert.deepEqual(nosub, {
      msg: 'nosub', id: 'f',
      error: { isClientSafe: true, error: 'denied', reason: 'No access', message: 'No access [denied]', errorType: 'Meteor.Error' },
    });
    client.close();
  });

  for (const name of ['throws', 'badReturn']) {
    test(`${name} → nosub with 500, detail only in the server log`, async () => {
      const { client, session } = await RawDdpClient.connect(server.wsUrl);
      client.send({ msg: 'sub', id: 't', name });
      const nosub = await client.next();
      assert.equal((nosub.error as { error: number }).error, 500);
      const logged = matching(server.logs, { level: 'error', message: `Exception from sub ${name} id t`, context: { session, sub: 't' } });
      assert.equal(logged.length, 1, describeLogs(server.logs));
      client.close();
    });
  }

  test('this.stop → nosub without error', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'st', name: 'stopsItself' });
    assert.deepEqual(await client.next(), { msg: 'nosub', id: 'st' });
    client.close();
  });

  test('a repeated sub id is ignored', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'e', name: 'empty' });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['e'] });
    client.send({ msg: 'sub', id: 'e', name: 'empty' });
    // The session handles subs in order: the next answer is the later sub's, nothing for the repeat.
    client.send({ msg: 'sub', id: 'after', name: 'empty' });
    assert.deepEqual(await client.next(), { msg: 'ready', subs: ['after'] });
    client.close();
  });

  test('this.connection and this.userId (null) inside a publication', async () => {
    const { client, session } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'w', name: 'who' });
    assert.deepEqual(await client.next(), { msg: 'added', collection: 'who', id: session, fields: { userId: null } });
    client.close();
  });

  test('simpleddp subscribes and sees live documents', async () => {
    const client = new simpleDDP({ endpoint: server.wsUrl, SocketConstructor: WebSocket, reconnectInterval: 100 });
    await client.connect();
    const sub = client.subscribe('items.all');
    await sub.ready();
    const ids = () => client.collection('items').fetch().map((d: { id: string }) => d.id).sort();
    assert.deepEqual(ids(), ['a', 'b']);
    await items.insertAsync({ _id: 'live', n: 3 });
    await waitFor(() => ids().includes('live'), 2000, 'the inserted document');
    assert.deepEqual(ids(), ['a', 'b', 'live']);
    await items.removeAsync({ _id: 'live' });
    await waitFor(() => !ids().includes('live'), 2000, 'the removed document gone');
    assert.deepEqual(ids(), ['a', 'b']);
    await client.disconnect();
  });

  test('closing the socket stops its subscriptions (onStop runs, observers released)', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    client.send({ msg: 'sub', id: 'm', name: 'manual', params: ['closing'] });
    await client.until((f) => f.msg === 'ready');
    client.close();
    await client.closed;
    await waitFor(() => stopped.includes('closing'), 2000, 'onStop to run on close');
    await waitFor(() => server.ddp.sessionCount === 0, 2000, 'the session closed');
  });
});
