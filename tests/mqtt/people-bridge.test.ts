import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { PRESENCE_NAMES } from '../../imports/app/wire-contract';
import { spawnApp } from '../helpers/app-process';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { MOSQUITTO_PATH, startMosquitto, type TestBroker } from '../helpers/brokers';
import { liveRecords, RawDdpClient } from '../helpers/raw-ddp-client';

/**
 * Issue 14 across instances: the same person logged in on two instances
 * through Debian's mosquitto (default settings) is one person, everywhere;
 * the account hooks fire once for the fleet, not once per instance.
 * Records travel on demand (issue 12): an instance with a people subscriber
 * or a hook holds the others' records.
 */
const SECRET = 'people-bridge-secret-of-at-least-32-bytes';
const key = new TextEncoder().encode(SECRET);
const jwtFor = (sub: string) =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime(Math.floor(Date.now() / 1000) + 3600).sign(key);


async function loggedIn(app: { wsUrl: string }, accountId: string) {
  const tab = await RawDdpClient.connect(app.wsUrl);
  const result = await tab.client.call(PRESENCE_NAMES.loginMethod, { jwt: await jwtFor(accountId) });
  assert.equal((result.result as { id?: string } | undefined)?.id, accountId, JSON.stringify(result));
  return tab;
}

async function watchPeople(app: AppTestServer) {
  const { client } = await RawDdpClient.connect(app.wsUrl);
  client.send({ msg: 'sub', id: 'people', name: PRESENCE_NAMES.peoplePublication, params: [{ token: MONITOR_TOKEN }] });
  await client.until((f) => f.msg === 'ready', 10_000);
  return client;
}

describe('people across instances (mosquitto, default settings)', { skip: MOSQUITTO_PATH ? false : 'mosquitto is not installed (apt-get install mosquitto)' }, () => {
  let broker: TestBroker;
  let a: AppTestServer;
  let b: AppTestServer;
  const fired: string[] = [];

  before(async () => {
    broker = await startMosquitto();
    const env = { MQTT_URL: broker.url, MQTT_KEEPALIVE: '2', PRESENCE_JWT_SECRET: SECRET };
    a = await startAppForTest({ ...env, PRESENCE_INSTANCE_ID: 'pp-A' });
    b = await startAppForTest({ ...env, PRESENCE_INSTANCE_ID: 'pp-B' });
    for (const [name, app] of [['A', a], ['B', b]] as const) {
      app.presence!.onAccountOnline((id) => void fired.push(`${name} online ${id}`));
      app.presence!.onAccountOffline((id) => void fired.push(`${name} offline ${id}`));
      app.presence!.onAccountIdle((id) => void fired.push(`${name} idle ${id}`));
    }
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await broker?.stop();
  });

  test('one person with a tab on each instance is one onlineUsers document with connections 2, on both; hooks fire once for the fleet', async () => {
    const atA = await watchPeople(a);
    const atB = await watchPeople(b);
    const tabA = await loggedIn(a, 'alice');
    await waitFor(() => liveRecords(atB, PRESENCE_NAMES.peopleCollection).get('alice')?.connections === 1, 5000, 'alice seen at B');
    const tabB = await loggedIn(b, 'alice');
    for (const watcher of [atA, atB]) {
      await waitFor(() => liveRecords(watcher, PRESENCE_NAMES.peopleCollection).get('alice')?.connections === 2, 5000, 'alice with 2 connections');
      assert.equal(liveRecords(watcher, PRESENCE_NAMES.peopleCollection).size, 1);
    }
    await tabA.client.call(PRESENCE_NAMES.setIdleMethod, true);
    await tabB.client.call(PRESENCE_NAMES.setIdleMethod, true);
    await waitFor(() => liveRecords(atA, PRESENCE_NAMES.peopleCollection).get('alice')?.status === 'idle', 5000, 'alice idle at A');
    await waitFor(() => liveRecords(atB, PRESENCE_NAMES.peopleCollection).get('alice')?.status === 'idle', 5000, 'alice idle at B');
    tabA.client.close();
    await waitFor(() => liveRecords(atA, PRESENCE_NAMES.peopleCollection).get('alice')?.connections === 1, 5000, 'alice down to 1 at A');
    tabB.client.close();
    for (const watcher of [atA, atB]) await waitFor(() => !liveRecords(watcher, PRESENCE_NAMES.peopleCollection).has('alice'), 5000, 'alice offline');
    // A duplicate would follow another instance's messages through the broker: no event says none is coming, so a fixed wait.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(fired, ['A online alice', 'A idle alice', 'A offline alice'], 'each on the owner: the smallest instance id that held her tabs');
    atA.ws.terminate();
    atB.ws.terminate();
  });
});

describe('people of a crashed instance (mosquitto, default settings)', { skip: MOSQUITTO_PATH ? false : 'mosquitto is not installed (apt-get install mosquitto)' }, () => {
  test('an instance killed with SIGKILL: its people go offline through its Will, and the offline hook fires once, on the survivor', async () => {
    const broker = await startMosquitto();
    const fired: string[] = [];
    const survivor = await startAppForTest({ MQTT_URL: broker.url, MQTT_KEEPALIVE: '2', PRESENCE_JWT_SECRET: SECRET, PRESENCE_INSTANCE_ID: 'pp-S' });
    survivor.presence!.onAccountOffline((id, info) => void fired.push(`offline ${id} ${info.instanceId}`));
    const victim = await spawnApp({ MQTT_URL: broker.url, MQTT_KEEPALIVE: '2', PRESENCE_JWT_SECRET: SECRET, PRESENCE_INSTANCE_ID: 'pp-K' });
    try {
      const tab = await loggedIn(victim, 'henry');
      const watcher = await watchPeople(survivor);
      await waitFor(() => liveRecords(watcher, PRESENCE_NAMES.peopleCollection).has('henry'), 5000, 'henry seen at the survivor');
      await victim.kill('SIGKILL');
      await waitFor(() => !liveRecords(watcher, PRESENCE_NAMES.peopleCollection).has('henry'), 15_000, 'henry offline after the Will');
      await waitFor(() => fired.length > 0, 2000, 'the offline hook');
      assert.deepEqual(fired, ['offline henry pp-K']);
      tab.client.ws.terminate();
      watcher.ws.terminate();
    } finally {
      await victim.kill('SIGKILL');
      await survivor.close();
      await broker.stop();
    }
  });
});
