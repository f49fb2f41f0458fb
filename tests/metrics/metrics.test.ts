import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawDdpClient } from '../helpers/raw-ddp-client';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { startAedes, type TestBroker } from '../helpers/brokers';

const TOKEN = 'test-metrics-token';

/** The samples of one metric in Prometheus text format: label string (`{a="b"}` or '') -> value. */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match && match[1] === name) found.set(match[2] ?? '', Number(match[3]));
  }
  return found;
}
const value = (text: string, name: string, labels = '') => samples(text, name).get(labels);
const total = (text: string, name: string) => [...samples(text, name).values()].reduce((a, b) => a + b, 0);

async function scrape(app: AppTestServer, token: string | null = TOKEN, method = 'GET'): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(`${app.url}/metrics`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

async function call(client: RawDdpClient, id: string, method: string): Promise<Record<string, unknown>> {
  client.send({ msg: 'method', id, method, params: [] });
  return client.until((f) => f.msg === 'result' && f.id === id);
}

describe('/metrics without METRICS_TOKEN', () => {
  let app: AppTestServer;
  before(async () => (app = await startAppForTest()));
  after(() => app.close());

  test('answers 404, token or not: the endpoint is off', async () => {
    assert.equal((await scrape(app, null)).status, 404);
    assert.equal((await scrape(app, 'anything')).status, 404);
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  let app: AppTestServer;
  const clients: RawDdpClient[] = [];
  const sessions: string[] = [];
  const N = 4;

  before(async () => {
    app = await startAppForTest({ METRICS_TOKEN: TOKEN });
    for (let i = 0; i < N; i++) {
      const { client, session } = await RawDdpClient.connect(app.wsUrl);
      clients.push(client);
      sessions.push(session);
    }
    await waitFor(() => app.presence!.view.count === N, 2000, 'records of every client');
  });
  after(async () => {
    for (const client of clients) client.close();
    await app.close();
  });

  test('a missing or wrong token gets 401; other methods 405', async () => {
    const missing = await scrape(app, null);
    assert.equal(missing.status, 401);
    assert.equal((await scrape(app, 'wrong-token')).status, 401);
    assert.equal((await scrape(app, TOKEN.slice(0, -1))).status, 401);
    assert.equal((await scrape(app, TOKEN, 'POST')).status, 405);
    assert.doesNotMatch(missing.text, /ddp_/);
  });

  test('ddp_sessions sums to the open clients; connects counted; Node defaults present', async () => {
    const { status, text, type } = await scrape(app);
    assert.equal(status, 200);
    assert.match(type ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(total(text, 'ddp_sessions'), N);
    assert.equal(value(text, 'ddp_sessions', '{transport="websocket"}'), N);
    assert.equal(value(text, 'ddp_sessions', '{transport="sockjs"}'), 0);
    assert.equal(value(text, 'ddp_connects_total', '{transport="websocket"}'), N);
    assert.equal(value(text, 'presence_records', '{origin="local"}'), N);
    assert.equal(value(text, 'presence_records', '{origin="remote"}'), 0);
    assert.ok(samples(text, 'nodejs_eventloop_lag_seconds').size > 0, 'default metrics');
    assert.ok(samples(text, 'nodejs_heap_size_used_bytes').size > 0, 'default metrics');
    assert.equal(samples(text, 'mqtt_bridge_connected').size, 0, 'no bridge, no bridge metrics');
  });

  test('method histogram counts getSessionId; an unknown method name creates no label', async () => {
    for (const [i, client] of clients.entries()) assert.equal((await call(client, `g${i}`, 'getSessionId')).result, sessions[i]);
    const unknown = await call(clients[0]!, 'u1', 'no.such.method.zz9');
    assert.equal((unknown.error as { error: number }).error, 404);
    const { text } = await scrape(app);
    assert.equal(value(text, 'ddp_method_duration_seconds_count', '{method="getSessionId"}'), N);
    assert.equal(value(text, 'ddp_method_duration_seconds_bucket', '{le="+Inf",method="getSessionId"}'), N);
    assert.doesNotMatch(text, /zz9/);
  });

  test('no session id and no client address ever appears', async () => {
    const { text } = await scrape(app);
    for (const session of sessions) assert.ok(!text.includes(session), `session id ${session} in the output`);
    assert.doesNotMatch(text, /127\.0\.0\.1/);
  });

  test('presence_monitors and ddp_subscriptions follow a monitor subscription', async () => {
    const before = await scrape(app);
    assert.equal(value(before.text, 'presence_monitors'), 0);
    assert.equal(value(before.text, 'ddp_subscriptions', '{name="list.connectedUsers"}'), 0);
    const monitor = clients[1]!;
    monitor.send({ msg: 'sub', id: 'm1', name: 'list.connectedUsers', params: [{ token: MONITOR_TOKEN }] });
    await monitor.until((f) => f.msg === 'ready' && (f.subs as string[]).includes('m1'));
    monitor.send({ msg: 'sub', id: 'nope', name: 'no.such.publication.zz8', params: [] });
    await monitor.until((f) => f.msg === 'nosub' && f.id === 'nope');
    const during = await scrape(app);
    assert.equal(value(during.text, 'presence_monitors'), 1);
    assert.equal(value(during.text, 'ddp_subscriptions', '{name="list.connectedUsers"}'), 1);
    assert.doesNotMatch(during.text, /zz8/);
    monitor.send({ msg: 'unsub', id: 'm1' });
    await monitor.until((f) => f.msg === 'nosub' && f.id === 'm1');
    await waitFor(async () => value((await scrape(app)).text, 'presence_monitors') === 0, 2000, 'monitors back to 0');
    assert.equal(value((await scrape(app)).text, 'ddp_subscriptions', '{name="list.connectedUsers"}'), 0);
  });

  test('a client that leaves moves ddp_disconnects_total{reason="client_closed"} and the close-to-removal histogram', async () => {
    const first = await scrape(app);
    assert.equal(value(first.text, 'ddp_disconnects_total', '{reason="client_closed"}'), 0);
    assert.equal(value(first.text, 'presence_close_to_removal_seconds_count'), 0);
    const leaving = clients.pop()!;
    leaving.close();
    await leaving.closed;
    await waitFor(() => app.presence!.view.count === N - 1, 2000, 'the record removed');
    const { text } = await scrape(app);
    assert.equal(value(text, 'ddp_disconnects_total', '{reason="client_closed"}'), 1);
    assert.equal(total(text, 'ddp_disconnects_total'), 1);
    assert.equal(total(text, 'ddp_sessions'), N - 1);
    assert.equal(value(text, 'presence_close_to_removal_seconds_count'), 1);
    assert.equal(value(text, 'presence_records', '{origin="local"}'), N - 1);
  });

  test('two instances in one process keep separate registries', async () => {
    const other = await startAppForTest({ METRICS_TOKEN: TOKEN });
    try {
      const { text } = await scrape(other);
      assert.equal(total(text, 'ddp_sessions'), 0);
      assert.equal(value(text, 'ddp_connects_total', '{transport="websocket"}'), 0);
    } finally {
      await other.close();
    }
  });
});

describe('/metrics with the MQTT bridge (aedes, two instances)', () => {
  let broker: TestBroker;
  let a: AppTestServer;
  let b: AppTestServer;
  const env = () => ({ METRICS_TOKEN: TOKEN, MQTT_URL: broker.url, MQTT_REMOTE_RECORDS: 'always' });

  before(async () => {
    broker = await startAedes();
    a = await startAppForTest(env());
    b = await startAppForTest(env());
  });
  after(async () => {
    await b.close();
    await a.close();
    await broker.stop();
  });

  test('connected, remote instances, messages by direction and kind, remote records', async () => {
    const { client } = await RawDdpClient.connect(b.wsUrl);
    try {
      await waitFor(async () => {
        const { text } = await scrape(a);
        return value(text, 'mqtt_bridge_remote_instances') === 1 && value(text, 'presence_records', '{origin="remote"}') === 1;
      }, 5000, "a sees b and b's record");
      const { text } = await scrape(a);
      assert.equal(value(text, 'mqtt_bridge_connected'), 1);
      assert.ok(value(text, 'mqtt_bridge_messages_total', '{direction="out",kind="status"}')! >= 1);
      assert.ok(value(text, 'mqtt_bridge_messages_total', '{direction="in",kind="status"}')! >= 1);
      assert.ok(value(text, 'mqtt_bridge_messages_total', '{direction="in",kind="record"}')! >= 1);
      assert.equal(value(text, 'presence_records', '{origin="local"}'), 0);
      assert.equal(total(text, 'mqtt_bridge_rejected_total'), 0);
    } finally {
      client.close();
    }
  });
});
