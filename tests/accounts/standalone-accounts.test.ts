import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import simpleDDP from 'simpleddp';
import WebSocket from 'ws';
import { createJwtLoginHandler, type JwtLoginOptions } from '../../imports/accounts/jwt-login';
import type { LoginHandler } from '../../imports/accounts/login-handler';
import {
  DEFAULT_LOGIN_RATE_LIMIT,
  registerStandaloneAccounts,
  type StandaloneAccounts,
  type StandaloneAccountsOptions,
} from '../../imports/accounts/standalone-accounts';
import { PRESENCE_NAMES } from '../../imports/app/wire-contract';
import { MeteorError } from '../../imports/ddp/meteor-error';
import { describeLogs, matching } from '../helpers/capture-logger';
import { startTestServer, type TestServer } from '../helpers/ddp-test-server';
import { RawDdpClient } from '../helpers/raw-ddp-client';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const ISSUER = 'https://id.example';
const AUDIENCE = 'presence';
const secretBytes = (text: string) => new TextEncoder().encode(text);

/** A second handler, so tests can log in without an expiry: `login({testAccount})`. */
const testAccountHandler: LoginHandler = ({ request }) => (typeof request.testAccount === 'string' ? { accountId: request.testAccount } : undefined);

/** A handler that takes its time, so an expiry can fall in the middle of a login: `login({slowAccount, delayMs, refuse?})`. */
const slowHandler: LoginHandler = async ({ request }) => {
  if (typeof request.slowAccount !== 'string') return undefined;
  await new Promise((resolve) => setTimeout(resolve, Number(request.delayMs)));
  if (request.refuse) throw new MeteorError(403, 'Refused slowly');
  return { accountId: request.slowAccount };
};

interface AccountsServer extends TestServer {
  accounts: StandaloneAccounts;
}

/**
 * A real DDP server on port 0 with the accounts methods, `whoAmI` and a
 * publication that shows the session's user. No login rate limit unless
 * asked: the tests log in more often than 5 times in 10 s on one connection.
 */
async function startAccountsServer(
  jwt: Omit<JwtLoginOptions, 'log'>,
  options: Partial<StandaloneAccountsOptions> = { loginRateLimit: null },
): Promise<AccountsServer> {
  const server = await startTestServer((meteor) => {
    meteor.methods({
      whoAmI() {
        return this.userId;
      },
    });
    meteor.publish('me', function () {
      if (this.userId) this.added('me', this.userId, {});
      this.ready();
    });
  });
  const handlers = [createJwtLoginHandler({ ...jwt, log: server.log }), testAccountHandler, slowHandler];
  const accounts = registerStandaloneAccounts(server.ddp, { handlers, log: server.log, ...options });
  return Object.assign(server, { accounts });
}

async function connectSimpleDdp(server: TestServer) {
  const client = new simpleDDP({ endpoint: server.wsUrl, SocketConstructor: WebSocket, reconnectInterval: 100 });
  await client.connect();
  return client;
}

/** Calls a method on a raw client and returns its `result` frame. */
let nextId = 0;
async function call(client: RawDdpClient, method: string, ...params: unknown[]): Promise<Record<string, unknown>> {
  const id = String(++nextId);
  client.send({ msg: 'method', id, method, params });
  return client.until((f) => f.msg === 'result' && f.id === id);
}

const inSeconds = (seconds: number) => (Date.now() + seconds * 1000) / 1000;

/** Resolves once the clock is past `exp` (seconds) by a timer's slack, so an expiry timer due then has fired. */
async function waitPast(exp: number, slackMs = 50): Promise<void> {
  const left = exp * 1000 + slackMs - Date.now();
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
}

function hs256(claims: JWTPayload, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(secretBytes(secret));
}

const valid = (claims: JWTPayload = {}) => hs256({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(inSeconds(60)), ...claims });

describe('login and logout methods over DDP (standalone-accounts.ts)', () => {
  let hs: AccountsServer;
  let rs: AccountsServer;
  let es: AccountsServer;
  let rsaPrivateKey: CryptoKey;
  let rsaPem: string;
  let ecPrivateKey: CryptoKey;

  before(async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES256', { extractable: true });
    rsaPrivateKey = rsa.privateKey;
    rsaPem = await exportSPKI(rsa.publicKey);
    ecPrivateKey = ec.privateKey;
    [hs, rs, es] = await Promise.all([
      startAccountsServer({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE }),
      startAccountsServer({ publicKeyPem: rsaPem }),
      startAccountsServer({ publicKeyPem: await exportSPKI(ec.publicKey) }),
    ]);
  });
  after(async () => {
    for (const server of [hs, rs, es]) {
      server.accounts.stop();
      await server.close();
    }
  });

  test('the method names are the wire contract\'s', () => {
    assert.equal(PRESENCE_NAMES.loginMethod, 'login');
    assert.equal(PRESENCE_NAMES.logoutMethod, 'logout');
  });

  test('HS256: login answers {id, tokenExpires} (an EJSON date) and the session is logged in', async () => {
    const { client } = await RawDdpClient.connect(hs.wsUrl);
    const exp = Math.floor(inSeconds(60));
    const result = await call(client, 'login', { jwt: await valid({ exp }) });
    assert.deepEqual(result.result, { id: 'alice', tokenExpires: { $date: exp * 1000 } });
    assert.equal((await call(client, 'whoAmI')).result, 'alice');
    client.close();
  });

  test('RS256 and ES256 logins succeed (simpleddp, a third-party client)', async () => {
    const exp = Math.floor(inSeconds(60));
    for (const [server, alg, key, sub] of [
      [rs, 'RS256', rsaPrivateKey, 'rsa-user'],
      [es, 'ES256', ecPrivateKey, 'ec-user'],
    ] as const) {
      const client = await connectSimpleDdp(server);
      const jwt = await new SignJWT({ sub, exp }).setProtectedHeader({ alg }).sign(key);
      const result = await client.call('login', { jwt });
      assert.equal(result.id, sub, alg);
      assert.equal(new Date(result.tokenExpires.$date ?? result.tokenExpires).getTime(), exp * 1000, alg);
      assert.equal(await client.call('whoAmI'), sub, alg);
      await client.disconnect();
    }
  });

  test('logout answers nothing and the session is anonymous again', async () => {
    const { client } = await RawDdpClient.connect(hs.wsUrl);
    await call(client, 'login', { jwt: await valid() });
    const result = await call(client, 'logout');
    assert.deepEqual(result, { msg: 'result', id: result.id });
    assert.equal((await call(client, 'whoAmI')).result, null);
    client.close();
  });

  test('refusals reach the client as Meteor errors with the right code (simpleddp)', async () => {
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const exp = Math.floor(inSeconds(60));
    const claims = { sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp };
    const cases: Array<[string, AccountsServer, unknown[], number, string]> = [
      ['wrong signature', hs, [{ jwt: await hs256(claims, 'another-secret-of-at-least-32-bytes!') }], 403, 'Invalid token'],
      ['alg: none', hs, [{ jwt: `${b64({ alg: 'none' })}.${b64(claims)}.` }], 403, 'Invalid token'],
      ['HS256 against an RS256 key (algorithm confusion)', rs, [{ jwt: await hs256(claims, rsaPem) }], 403, 'Invalid token'],
      ['wrong issuer', hs, [{ jwt: await valid({ iss: 'https://evil.example' }) }], 403, 'Invalid token'],
      ['wrong audience', hs, [{ jwt: await valid({ aud: 'someone-else' }) }], 403, 'Invalid token'],
      ['missing sub', hs, [{ jwt: await valid({ sub: undefined }) }], 403, 'Invalid token'],
      ['missing exp', hs, [{ jwt: await valid({ exp: undefined }) }], 403, 'Invalid token'],
      ['expired', hs, [{ jwt: await valid({ exp: Math.floor(inSeconds(-5)) }) }], 403, 'Token expired'],
      ['oversize', hs, [{ jwt: await valid({ padding: 'p'.repeat(9000) }) }], 403, 'Invalid token'],
      ['jwt not a string', hs, [{ jwt: 12 }], 400, 'Match failed'],
      ['a string request', hs, ['token'], 400, 'Match failed'],
      ['an array request', hs, [[{ jwt: 'x' }]], 400, 'Match failed'],
      ['a null request', hs, [null], 400, 'Match failed'],
      ['no request', hs, [], 400, 'Match failed'],
      ['a Date request (EJSON)', hs, [new Date(0)], 400, 'Match failed'],
      ['no handler takes it', hs, [{ password: 'x' }], 400, 'Unrecognized options for login request'],
    ];
    const clients = new Map<AccountsServer, Awaited<ReturnType<typeof connectSimpleDdp>>>();
    for (const server of [hs, rs]) clients.set(server, await connectSimpleDdp(server));
    for (const [name, server, params, error, reason] of cases) {
      await assert.rejects(clients.get(server)!.call('login', ...params), (e: { error: unknown; reason: unknown }) => {
        assert.deepEqual({ error: e.error, reason: e.reason }, { error, reason }, name);
        return true;
      });
    }
    for (const client of clients.values()) await client.disconnect();
  });

  test('Match failed is exactly the frame Meteor sends for a failed check(options, Object)', async () => {
    const { client } = await RawDdpClient.connect(hs.wsUrl);
    client.send({ msg: 'method', id: 'm', method: 'login', params: ['not an object'] });
    await client.until((f) => f.msg === 'result');
    assert.equal(
      client.rawFrames.find((f) => f.includes('"result"')),
      '{"msg":"result","id":"m","error":{"isClientSafe":true,"error":400,"reason":"Match failed","message":"Match failed [400]","errorType":"Meteor.Error"}}',
    );
    client.close();
  });

  test('a failed login leaves the session\'s login as it was (accounts_server.js _attemptLogin calls no setUserId on failure)', async () => {
    const { client } = await RawDdpClient.connect(hs.wsUrl);
    await call(client, 'login', { jwt: await valid() });
    const refused = await call(client, 'login', { jwt: await valid({ exp: Math.floor(inSeconds(-5)) }) });
    assert.equal((refused.error as { error: number }).error, 403);
    assert.equal((await call(client, 'whoAmI')).result, 'alice');
    client.close();
  });

  test('a handler\'s unexpected error reaches the client as 500 and is logged', async () => {
    const server = await startTestServer();
    const accounts = registerStandaloneAccounts(server.ddp, {
      handlers: [() => {
        throw new Error('database down');
      }],
      log: server.log,
    });
    const { client } = await RawDdpClient.connect(server.wsUrl);
    const result = await call(client, 'login', { anything: 1 });
    assert.deepEqual((result.error as { error: number; reason: string }).reason, 'Internal server error');
    const logged = matching(server.logs, { level: 'error', message: "while invoking method 'login'" });
    assert.deepEqual(logged.map((entry) => (entry.context?.error as Error | undefined)?.message), ['database down'], describeLogs(server.logs));
    client.close();
    accounts.stop();
    await server.close();
  });

  test('login is rate limited per connection by default, as accounts-base: 5 per 10 s', async () => {
    assert.deepEqual({ ...DEFAULT_LOGIN_RATE_LIMIT }, { numRequests: 5, timeIntervalMs: 10_000 });
    const server = await startAccountsServer({ secret: SECRET }, {});
    const { client } = await RawDdpClient.connect(server.wsUrl);
    for (let i = 0; i < 5; i++) assert.equal((await call(client, 'login', { testAccount: 'bob' })).error, undefined);
    const limited = (await call(client, 'login', { testAccount: 'bob' })).error as { error: string };
    assert.equal(limited.error, 'too-many-requests');
    assert.equal((await call(client, 'logout')).error, undefined, 'logout is not limited');
    const other = await RawDdpClient.connect(server.wsUrl);
    assert.equal((await call(other.client, 'login', { testAccount: 'bob' })).error, undefined, 'each connection its own counter');
    client.close();
    other.client.close();
    server.accounts.stop();
    await server.close();
  });

  test('after stop(), login fails (500) rather than log in a session that would never expire', async () => {
    const server = await startTestServer();
    const accounts = registerStandaloneAccounts(server.ddp, { handlers: [testAccountHandler], log: server.log });
    accounts.stop();
    const { client } = await RawDdpClient.connect(server.wsUrl);
    const result = await call(client, 'login', { testAccount: 'bob' });
    assert.equal((result.error as { error: number }).error, 500);
    assert.equal((await call(client, 'logout')).error, undefined);
    client.close();
    await server.close();
  });

  describe('expiry (real clock: a token 2 s from its exp)', { concurrency: true }, () => {
    test('at exp the session is logged out server-side: its subscriptions rerun as anonymous', async () => {
      const { client } = await RawDdpClient.connect(hs.wsUrl);
      client.send({ msg: 'sub', id: 's', name: 'me', params: [] });
      await client.until((f) => f.msg === 'ready');
      const exp = inSeconds(2);
      await call(client, 'login', { jwt: await valid({ exp }) });
      assert.ok(client.frames.some((f) => f.msg === 'added' && f.collection === 'me' && f.id === 'alice'));
      const removed = await client.until((f) => f.msg === 'removed' && f.collection === 'me', 4000);
      const loggedOutAt = Date.now();
      assert.equal(removed.id, 'alice');
      assert.ok(loggedOutAt >= exp * 1000 - 5, `not before exp (${loggedOutAt - exp * 1000} ms)`);
      assert.ok(loggedOutAt < exp * 1000 + 500, `soon after exp (${loggedOutAt - exp * 1000} ms)`);
      assert.equal((await call(client, 'whoAmI')).result, null);
      client.close();
    });

    test('logout cancels the expiry', async () => {
      const { client } = await RawDdpClient.connect(hs.wsUrl);
      const exp = inSeconds(1.5);
      await call(client, 'login', { jwt: await valid({ exp }) });
      await call(client, 'logout');
      await call(client, 'login', { testAccount: 'bob' });
      // An expiry's logout joins the session's queue when it fires: once exp is past, whoAmI is answered after it.
      await waitPast(exp);
      assert.equal((await call(client, 'whoAmI')).result, 'bob');
      client.close();
    });

    test('a new login replaces the expiry', async () => {
      const { client } = await RawDdpClient.connect(hs.wsUrl);
      const exp = inSeconds(1.5);
      await call(client, 'login', { jwt: await valid({ exp }) });
      await call(client, 'login', { jwt: await valid({ exp: inSeconds(60) }) });
      // An expiry's logout joins the session's queue when it fires: once exp is past, whoAmI is answered after it.
      await waitPast(exp);
      assert.equal((await call(client, 'whoAmI')).result, 'alice');
      client.close();
    });

    // The expiry's logout waits in the session's queue behind a running method;
    // were it queued there, it would log out the login that method just made.
    test('a login running when the previous one expires keeps its new login', async () => {
      const { client } = await RawDdpClient.connect(hs.wsUrl);
      await call(client, 'login', { jwt: await valid({ exp: inSeconds(0.5) }) });
      const slow = await call(client, 'login', { slowAccount: 'alice', delayMs: 1000 });
      assert.deepEqual(slow.result, { id: 'alice' });
      // The expiry fired during the slow login; a logout it had queued would be answered before this whoAmI.
      assert.equal((await call(client, 'whoAmI')).result, 'alice');
      client.close();
    });

    test('a login that fails after the previous one expired logs the session out', async () => {
      const { client } = await RawDdpClient.connect(hs.wsUrl);
      await call(client, 'login', { jwt: await valid({ exp: inSeconds(0.5) }) });
      const slow = await call(client, 'login', { slowAccount: 'alice', delayMs: 1000, refuse: true });
      assert.equal((slow.error as { reason: string }).reason, 'Refused slowly');
      assert.equal((await call(client, 'whoAmI')).result, null);
      client.close();
    });
  });
});
