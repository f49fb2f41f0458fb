import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { registerStandaloneAccounts, type StandaloneAccounts } from '../../imports/accounts/standalone-accounts';
import type { LoginHandler } from '../../imports/accounts/login-handler';
import { RawDdpClient, liveRecords } from '../helpers/raw-ddp-client';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';
import { waitFor } from '../helpers/app-test-server';

/**
 * setUserId attacked through the standalone `login`/`logout` methods: a
 * client that makes every subscription it holds rerun again and again, or
 * that stops reading while they rerun. Whatever it does, other sessions must
 * be served and the server's memory must stay bounded.
 */
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Logs in as `{user}`: the account id is whatever the client says (a test handler). */
const trustingHandler: LoginHandler = ({ request }) => (typeof request.user === 'string' ? { accountId: request.user } : undefined);


async function methodRoundTrip(client: RawDdpClient): Promise<number> {
  const started = performance.now();
  assert.equal((await client.call('whoami')).error, undefined);
  return performance.now() - started;
}

describe('setUserId, attacked', () => {
  let server: TestServer;
  let accounts: StandaloneAccounts;
  let bystander: RawDdpClient;

  before(async () => {
    server = await startTestServer(
      (meteor) => {
        meteor.methods({
          whoami() {
            return this.userId;
          },
        });
        // One document per subscription, naming the user it ran for: cheap, as most publications are.
        meteor.publish('mine', function (n: unknown) {
          this.added('mine', `${this.userId ?? 'anon'}-${String(n)}`, { userId: this.userId });
          this.ready();
        });
        // 200 documents whose ids depend on the user: each change replaces them all (~20 KB of frames).
        meteor.publish('bulky', function () {
          for (let i = 0; i < 200; i++) this.added('bulky', `${this.userId ?? 'anon'}-${i}`, { pad: 'x'.repeat(64) });
          this.ready();
        });
      },
      // Small enough that a client that stops reading reaches it within the test.
      { maxBufferedBytesPerSocket: 2 * 1024 * 1024 },
    );
    accounts = registerStandaloneAccounts(server.ddp, { handlers: [trustingHandler], log: server.log, loginRateLimit: null });
    ({ client: bystander } = await RawDdpClient.connect(server.wsUrl));
  });
  after(async () => {
    bystander.close();
    accounts.stop();
    await server.close();
  });

  test('this.userId never leaks between sessions: a login on one leaves another\'s methods and publications anonymous', async () => {
    const a = await RawDdpClient.connect(server.wsUrl);
    const b = await RawDdpClient.connect(server.wsUrl);
    for (const c of [a, b]) c.client.send({ msg: 'sub', id: 'mine', name: 'mine', params: [0] });
    await b.client.until((f) => f.msg === 'ready');
    assert.equal((await a.client.call('login', { user: 'alice' })).error, undefined);
    assert.equal((await a.client.call('whoami')).result, 'alice');
    assert.equal((await b.client.call('whoami')).result, null);
    assert.deepEqual([...liveRecords(a.client, 'mine').keys()], ['alice-0']);
    assert.deepEqual([...liveRecords(b.client, 'mine').keys()], ['anon-0']);
    assert.ok(!b.client.rawFrames.some((f) => f.includes('alice')));
    a.client.close();
    b.client.close();
  });

  test('500 subscriptions rerun by 2,000 pipelined logouts (logout has no rate limit): a bystander is still served promptly', async (t) => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    for (let i = 0; i < 500; i++) client.send({ msg: 'sub', id: `s${i}`, name: 'mine', params: [i] });
    await client.until((f) => f.msg === 'ready' && (f.subs as string[]).includes('s499'), 8000);
    const baseline = await bystander.pingRoundTrip();
    for (let i = 0; i < 2000; i++) client.send({ msg: 'method', id: `out${i}`, method: 'logout', params: [] });
    const samples: number[] = [];
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      samples.push(await bystander.pingRoundTrip(), await methodRoundTrip(bystander));
      await delay(20); // the sampling pace over the 2 s window: the measurement itself, not a wait for an event
    }
    client.ws.terminate();
    await waitFor(() => server.ddp.sessionCount === 1, 5000, 'the flooding session closed (the bystander alone left)');
    const worst = Math.max(...samples);
    t.diagnostic(`bystander worst ${worst.toFixed(0)} ms over ${samples.length} samples; logouts answered: ${client.frames.filter((f) => f.msg === 'result').length}`);
    assert.ok(worst < 250, `bystander round trips up to ${worst.toFixed(0)} ms (baseline ${baseline.toFixed(1)} ms; ${samples.length} samples)`);
  });

  test('a client that stops reading while its subscriptions rerun is closed at maxBufferedBytesPerSocket; others are served', async () => {
    const { client } = await RawDdpClient.connect(server.wsUrl);
    for (let i = 0; i < 5; i++) client.send({ msg: 'sub', id: `b${i}`, name: 'bulky', params: [] });
    await client.until((f) => f.msg === 'ready' && (f.subs as string[]).includes('b4'), 5000);
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // Each login as a new user replaces 5 × 200 documents: ~200 KB of frames per call, ~60 MB in all.
    for (let i = 0; i < 300; i++) client.send({ msg: 'method', id: `in${i}`, method: 'login', params: [{ user: `user-${i}` }] });
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) samples.push(await bystander.pingRoundTrip(), await methodRoundTrip(bystander));
    await waitFor(() => server.ddp.sessionCount === 1, 8000, 'the non-reading session closed');
    assert.ok(Math.max(...samples) < 500, `bystander round trips: ${samples.map((s) => s.toFixed(0)).join(', ')}`);
    client.ws.terminate();
  });
});
