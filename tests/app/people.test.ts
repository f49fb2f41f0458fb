import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { PRESENCE_NAMES } from '../../imports/app/wire-contract';
import type { AccountHookInfo } from '../../imports/app/person-hooks';
import { MONITOR_TOKEN, startAppForTest, waitFor, type AppTestServer } from '../helpers/app-test-server';
import { liveRecords, RawDdpClient } from '../helpers/raw-ddp-client';

/**
 * Issue 14 end to end on the real standalone app: JWT login over DDP, the
 * record's accountId, `list.onlineUsers`, `presence.setIdle`, and the
 * account hooks, driven by raw WebSocket clients (exact frames).
 */
let nextId = 0;
const SECRET = 'people-test-secret-of-at-least-32-bytes!';
const key = new TextEncoder().encode(SECRET);

async function jwtFor(sub: string, expiresInSeconds = 3600): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds).sign(key);
}


async function subscribe(client: RawDdpClient, name: string, ...params: unknown[]): Promise<Record<string, unknown>> {
  const id = `s${++nextId}`;
  client.send({ msg: 'sub', id, name, params });
  return client.until((f) => (f.msg === 'ready' && (f.subs as string[]).includes(id)) || (f.msg === 'nosub' && f.id === id), 4000);
}

async function loggedIn(app: AppTestServer, accountId: string): Promise<{ client: RawDdpClient; session: string }> {
  const tab = await RawDdpClient.connect(app.wsUrl);
  const result = await tab.client.call(PRESENCE_NAMES.loginMethod, { jwt: await jwtFor(accountId) });
  assert.equal((result.result as { id: string }).id, accountId, JSON.stringify(result));
  return tab;
}

describe('people: JWT login, list.onlineUsers, presence.setIdle, account hooks (issue 14)', () => {
  let app: AppTestServer;
  let monitor: RawDdpClient;
  const fired: Array<[string, string, AccountHookInfo]> = [];
  const people = () => liveRecords(monitor, PRESENCE_NAMES.peopleCollection);

  before(async () => {
    app = await startAppForTest({ PRESENCE_JWT_SECRET: SECRET });
    for (const kind of ['Online', 'Offline', 'Idle', 'Active'] as const) {
      app.presence![`onAccount${kind}`]((accountId, info) => void fired.push([kind.toLowerCase(), accountId, info]));
    }
    ({ client: monitor } = await RawDdpClient.connect(app.wsUrl));
    const ready = await subscribe(monitor, PRESENCE_NAMES.peoplePublication, { token: MONITOR_TOKEN });
    assert.equal(ready.msg, 'ready');
    await subscribe(monitor, PRESENCE_NAMES.listPublication, { token: MONITOR_TOKEN });
  });
  after(async () => {
    monitor.close();
    await app.close();
  });

  test('two tabs of one person: one onlineUsers document with connections 2; both idle → idle; one closes → still online; the last closes → offline; hooks once each', async () => {
    fired.length = 0;
    const tab1 = await loggedIn(app, 'alice');
    const tab2 = await loggedIn(app, 'alice');
    await waitFor(() => people().get('alice')?.connections === 2, 2000, 'alice with 2 connections');
    assert.equal(people().size, 1);
    assert.equal(people().get('alice')!.status, 'online');

    // The monitor sees the account on each connection record.
    await waitFor(() => liveRecords(monitor).get(tab1.session)?.accountId === 'alice', 2000, 'accountId on the record');

    assert.equal((await tab1.client.call(PRESENCE_NAMES.setIdleMethod, true)).error, undefined);
    await waitFor(() => liveRecords(monitor).get(tab1.session)?.idle === true, 2000, 'idle on the record');
    assert.equal(people().get('alice')!.status, 'online', 'one tab idle: the person is not');
    await tab2.client.call(PRESENCE_NAMES.setIdleMethod, true);
    await waitFor(() => people().get('alice')?.status === 'idle', 2000, 'alice idle');

    tab1.client.close();
    await waitFor(() => people().get('alice')?.connections === 1, 2000, 'alice down to 1');
    assert.equal(people().get('alice')!.status, 'idle');
    tab2.client.close();
    await waitFor(() => !people().has('alice'), 2000, 'alice offline');

    assert.deepEqual(fired.map(([kind, id]) => `${kind} ${id}`), ['online alice', 'idle alice', 'offline alice']);
    assert.equal(fired[0]![2].instanceId, app.config.presence.instanceId);
  });

  test('active again: setIdle(false) makes the person online and fires onAccountActive once; a repeated report changes nothing', async () => {
    fired.length = 0;
    const tab = await loggedIn(app, 'bob');
    await tab.client.call(PRESENCE_NAMES.setIdleMethod, true);
    await tab.client.call(PRESENCE_NAMES.setIdleMethod, true);
    await waitFor(() => people().get('bob')?.status === 'idle', 2000, 'bob idle');
    await tab.client.call(PRESENCE_NAMES.setIdleMethod, false);
    await waitFor(() => people().get('bob')?.status === 'online', 2000, 'bob active');
    assert.deepEqual(fired.map(([kind, id]) => `${kind} ${id}`), ['online bob', 'idle bob', 'active bob']);
    tab.client.close();
    await waitFor(() => !people().has('bob'), 2000, 'bob offline');
  });

  test('the login method: the record carries the account before `updated`; logout clears it and the person goes offline', async () => {
    const { client, session } = await RawDdpClient.connect(app.wsUrl);
    await subscribe(client, PRESENCE_NAMES.listPublication); // its own record only
    const id = `m${++nextId}`;
    client.send({ msg: 'method', id, method: PRESENCE_NAMES.loginMethod, params: [{ jwt: await jwtFor('carol') }] });
    const updated = await client.until((f) => f.msg === 'updated' && (f.methods as string[]).includes(id));
    assert.equal(liveRecords(client).get(session)?.accountId, 'carol', 'the changed frame came before updated');
    const result = await client.until((f) => f.msg === 'result' && f.id === id);
    assert.ok(updated && result.result);
    const { tokenExpires } = result.result as { tokenExpires: { $date: number } };
    assert.ok(tokenExpires.$date > Date.now(), 'tokenExpires is the token\'s exp');
    await waitFor(() => people().has('carol'), 2000, 'carol online');

    const logout = await client.call(PRESENCE_NAMES.logoutMethod);
    assert.equal(logout.error, undefined);
    assert.equal(liveRecords(client).get(session)?.accountId, undefined);
    await waitFor(() => !people().has('carol'), 2000, 'carol offline after logout');
    client.close();
  });

  test('who sees list.onlineUsers: monitors and logged-in connections; anonymous clients get an empty ready subscription', async () => {
    const watched = await loggedIn(app, 'dave');
    const anonymous = await RawDdpClient.connect(app.wsUrl);
    assert.equal((await subscribe(anonymous.client, PRESENCE_NAMES.peoplePublication)).msg, 'ready');
    const viewer = await loggedIn(app, 'erin');
    assert.equal((await subscribe(viewer.client, PRESENCE_NAMES.peoplePublication)).msg, 'ready');
    await anonymous.client.expectSilence(100);
    assert.equal(liveRecords(anonymous.client, PRESENCE_NAMES.peopleCollection).size, 0);
    assert.deepEqual([...liveRecords(viewer.client, PRESENCE_NAMES.peopleCollection).keys()].sort(), ['dave', 'erin']);
    // The accountIds filter: only the people asked about.
    const filtered = await RawDdpClient.connect(app.wsUrl);
    await subscribe(filtered.client, PRESENCE_NAMES.peoplePublication, { token: MONITOR_TOKEN, accountIds: ['dave', 'nobody'] });
    assert.deepEqual([...liveRecords(filtered.client, PRESENCE_NAMES.peopleCollection).keys()], ['dave']);
    for (const c of [watched, anonymous, viewer, filtered]) c.client.close();
    await waitFor(() => !people().has('dave') && !people().has('erin'), 2000, 'dave and erin offline');
  });

  test('bad input: setIdle with a non-boolean is a 400 and changes nothing; bad accountIds options get nosub 400; a monitor filters connections by accountId', async () => {
    const tab = await loggedIn(app, 'frank');
    const bad = await tab.client.call(PRESENCE_NAMES.setIdleMethod, 'yes');
    assert.equal((bad.error as { error: number }).error, 400);
    for (const options of [{ accountIds: 'frank' }, { accountIds: [7] }, { accountIds: Array.from({ length: 1001 }, (_, i) => `a${i}`) }]) {
      const nosub = await subscribe(tab.client, PRESENCE_NAMES.peoplePublication, options);
      assert.equal(nosub.msg, 'nosub');
      assert.equal((nosub.error as { error: number }).error, 400);
    }
    const other = await RawDdpClient.connect(app.wsUrl);
    const byAccount = await RawDdpClient.connect(app.wsUrl);
    await subscribe(byAccount.client, PRESENCE_NAMES.listPublication, { token: MONITOR_TOKEN, accountId: 'frank' });
    assert.deepEqual([...liveRecords(byAccount.client).keys()], [tab.session]);
    for (const c of [tab, other, byAccount]) c.client.close();
    await waitFor(() => !people().has('frank'), 2000, 'frank offline');
  });

  test('an expired token logs the session out at exp: the person goes offline, the connection stays', async () => {
    fired.length = 0;
    const { client, session } = await RawDdpClient.connect(app.wsUrl);
    const result = await client.call(PRESENCE_NAMES.loginMethod, { jwt: await jwtFor('grace', 2) });
    assert.equal((result.result as { id: string }).id, 'grace');
    await waitFor(() => people().has('grace'), 2000, 'grace online');
    await waitFor(() => !people().has('grace'), 4000, 'grace logged out at exp');
    assert.equal(liveRecords(monitor).get(session)?.accountId, undefined);
    assert.ok(liveRecords(monitor).has(session), 'the connection is still there');
    assert.deepEqual(fired.map(([kind, id]) => `${kind} ${id}`), ['online grace', 'offline grace']);
    client.close();
  });
});

describe('JWT login with a public key file (PRESENCE_JWT_PUBLIC_KEY_FILE), keys generated here', () => {
  test('ES256 and RS256: a token signed with the private key logs in; one signed with another key gets 403; the issuer and audience are checked', async () => {
    const { generateKeyPair, exportSPKI } = await import('jose');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'jwt-keys-'));
    for (const alg of ['ES256', 'RS256'] as const) {
      const { publicKey, privateKey } = await generateKeyPair(alg);
      const other = await generateKeyPair(alg);
      const keyFile = join(dir, `${alg}.pub`);
      writeFileSync(keyFile, await exportSPKI(publicKey));
      const app = await startAppForTest({ PRESENCE_JWT_PUBLIC_KEY_FILE: keyFile, PRESENCE_JWT_ISSUER: 'https://id.example', PRESENCE_JWT_AUDIENCE: 'presence' });
      try {
        const sign = (key: CryptoKey, claims: { iss?: string; aud?: string } = {}) =>
          new SignJWT({}).setProtectedHeader({ alg }).setSubject('kim').setIssuer(claims.iss ?? 'https://id.example').setAudience(claims.aud ?? 'presence')
            .setExpirationTime(Math.floor(Date.now() / 1000) + 600).sign(key);
        const { client } = await RawDdpClient.connect(app.wsUrl);
        const bad = async (jwt: string) => ((await client.call(PRESENCE_NAMES.loginMethod, { jwt })).error as { error: number }).error;
        assert.equal(await bad(await sign(other.privateKey)), 403, `${alg}: another key`);
        assert.equal(await bad(await sign(privateKey, { iss: 'https://evil.example' })), 403, `${alg}: wrong issuer`);
        assert.equal(await bad(await sign(privateKey, { aud: 'someone-else' })), 403, `${alg}: wrong audience`);
        const ok = await client.call(PRESENCE_NAMES.loginMethod, { jwt: await sign(privateKey) });
        assert.equal((ok.result as { id: string }).id, 'kim', `${alg}: ${JSON.stringify(ok)}`);
        client.close();
      } finally {
        await app.close();
      }
    }
  });
});
