import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterEach, before, describe, mock, test } from 'node:test';
import { exportPKCS8, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createJwtLoginHandler, JWT_LOGIN_DEFAULTS, type JwtLoginOptions } from '../../imports/accounts/jwt-login';
import { MIN_HS256_SECRET_BYTES, verificationKeyOf } from '../../imports/accounts/jwt-key';
import type { LoginHandler, LoginSuccess } from '../../imports/accounts/login-handler';
import { RECORD_LIMITS } from '../../imports/app/connected-user-schema';
import type { ConnectionHandle } from '../../imports/ddp/connection-handle';
import { MeteorError } from '../../imports/ddp/meteor-error';
import { captureLogger, describeLogs, matching, type LogRecord } from '../helpers/capture-logger';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const connection: ConnectionHandle = { id: 'session-1', clientAddress: null, httpHeaders: {}, close() {}, onClose() {} };
const nowSeconds = () => Math.floor(Date.now() / 1000);

function handlerWith(options: Partial<JwtLoginOptions> = {}): { handler: LoginHandler; logs: LogRecord[]; logLines: string[] } {
  const { log, logs, logLines } = captureLogger();
  return { handler: createJwtLoginHandler({ secret: SECRET, log, ...options } as JwtLoginOptions), logs, logLines };
}

function hs256(claims: JWTPayload, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

async function login(handler: LoginHandler, request: Record<string, unknown>): Promise<LoginSuccess | undefined> {
  return handler({ request, connection });
}

/** The handler refuses with exactly this Meteor error. */
async function refused(handler: LoginHandler, request: Record<string, unknown>, error: number, reason: string): Promise<void> {
  await assert.rejects(login(handler, request), (thrown: unknown) => {
    assert.ok(thrown instanceof MeteorError, `a MeteorError, got ${String(thrown)}`);
    assert.deepEqual([thrown.error, thrown.reason], [error, reason]);
    return true;
  });
}

describe('JWT login handler (jwt-login.ts)', () => {
  afterEach(() => mock.timers.reset());

  test('a valid HS256 token logs in as its sub until its exp', async () => {
    const { handler } = handlerWith();
    const exp = nowSeconds() + 60;
    assert.deepEqual(await login(handler, { jwt: await hs256({ sub: 'alice', exp }) }), { accountId: 'alice', expiresAt: new Date(exp * 1000) });
  });

  test('a request without `jwt` is not its kind: undefined, so the next handler is asked', async () => {
    const { handler } = handlerWith();
    assert.equal(await login(handler, { resume: 'x' }), undefined);
    // Only an own property counts.
    assert.equal(await login(handler, Object.create({ jwt: 'inherited' })), undefined);
  });

  test('a `jwt` that is not a string is 400 Match failed, as Meteor\'s check() in a handler', async () => {
    const { handler } = handlerWith();
    await refused(handler, { jwt: 42 }, 400, 'Match failed');
    await refused(handler, { jwt: null }, 400, 'Match failed');
  });

  test('refusals are 403 with a reason that does not say which check failed; the cause is logged at debug, never the token', async () => {
    const { handler, logs, logLines } = handlerWith({ issuer: 'https://id.example', audience: 'presence' });
    const exp = nowSeconds() + 60;
    const good = { sub: 'alice', exp, iss: 'https://id.example', aud: 'presence' };
    const wrongSignature = await hs256(good, 'another-secret-of-at-least-32-bytes!!');
    const cases: Array<[string, string]> = [
      ['wrong signature', wrongSignature],
      ['wrong issuer', await hs256({ ...good, iss: 'https://evil.example' })],
      ['no issuer', await hs256({ sub: 'alice', exp, aud: 'presence' })],
      ['wrong audience', await hs256({ ...good, aud: 'other' })],
      ['missing sub', await hs256({ exp, iss: good.iss, aud: good.aud })],
      ['empty sub', await hs256({ ...good, sub: '' })],
      ['missing exp', await hs256({ sub: 'alice', iss: good.iss, aud: good.aud })],
      ['nbf in the future', await hs256({ ...good, nbf: exp })],
      ['not a JWT', 'not.a.jwt'],
      ['empty', ''],
    ];
    for (const [name, jwt] of cases) {
      await assert.rejects(login(handler, { jwt }), (e: MeteorError) => e.error === 403 && e.reason === 'Invalid token', name);
    }
    assert.equal(matching(logs, { level: 'debug', message: 'JWT login refused', context: { session: 'session-1' } }).length, cases.length, describeLogs(logs));
    assert.deepEqual(logs.filter((entry) => entry.level !== 'debug' || entry.context?.session !== 'session-1'), [], 'all at debug, with the session');
    // What must not leak is the output itself (an error in the context included): the formatted lines are the honest place to look.
    assert.ok(!logLines.some((l) => l.includes(wrongSignature)), 'the token itself is never logged');
  });

  test('sub longer than maxAccountIdLength (default: the record schema\'s id limit) is refused', async () => {
    assert.equal(JWT_LOGIN_DEFAULTS.maxAccountIdLength, RECORD_LIMITS.maxIdLength);
    const { handler } = handlerWith();
    const exp = nowSeconds() + 60;
    const longest = 'x'.repeat(JWT_LOGIN_DEFAULTS.maxAccountIdLength);
    assert.equal((await login(handler, { jwt: await hs256({ sub: longest, exp }) }))?.accountId, longest);
    await refused(handler, { jwt: await hs256({ sub: longest + 'x', exp }) }, 403, 'Invalid token');
    await refused(handler, { jwt: await hs256({ sub: 42 as unknown as string, exp }) }, 403, 'Invalid token');
  });

  test('an expired token is 403 Token expired', async () => {
    const { handler } = handlerWith();
    await refused(handler, { jwt: await hs256({ sub: 'alice', exp: nowSeconds() - 1 }) }, 403, 'Token expired');
  });

  test('`exp` too large for a Date is refused, not turned into an Invalid Date', async () => {
    const { handler } = handlerWith();
    await refused(handler, { jwt: await hs256({ sub: 'alice', exp: 1e300 }) }, 403, 'Invalid token');
  });

  test('clockToleranceSeconds lets a token through that many seconds past its exp, and no further (mock clock)', async () => {
    const exp = 2_000_000_000;
    const jwt = await hs256({ sub: 'alice', exp });
    mock.timers.enable({ apis: ['Date'], now: exp * 1000 + 4_000 });
    await refused(handlerWith().handler, { jwt }, 403, 'Token expired');
    const tolerant = handlerWith({ clockToleranceSeconds: 5 }).handler;
    assert.equal((await login(tolerant, { jwt }))?.accountId, 'alice');
    mock.timers.setTime(exp * 1000 + 5_000);
    await refused(tolerant, { jwt }, 403, 'Token expired');
  });

  test('a token longer than maxTokenBytes is refused before it is parsed', async () => {
    const { handler, logs } = handlerWith({ maxTokenBytes: 100 });
    const jwt = await hs256({ sub: 'alice', exp: nowSeconds() + 60, padding: 'p'.repeat(100) });
    await refused(handler, { jwt }, 403, 'Invalid token');
    const oversize = { level: 'debug', message: 'JWT login refused', context: { cause: 'oversize' } } as const;
    assert.equal(matching(logs, oversize).length, 1, describeLogs(logs));
    // Counted in UTF-8 bytes: 40 three-byte characters are 120 bytes.
    await refused(handler, { jwt: '€'.repeat(40) }, 403, 'Invalid token');
    assert.equal(matching(logs, oversize).length, 2, describeLogs(logs));
    assert.equal(JWT_LOGIN_DEFAULTS.maxTokenBytes, 8192);
  });

  test('`alg: none` is refused, whatever the key', async () => {
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsecured = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', exp: nowSeconds() + 60 })}.`;
    await refused(handlerWith().handler, { jwt: unsecured }, 403, 'Invalid token');
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    await refused(handlerWith({ secret: undefined, publicKeyPem: await exportSPKI(publicKey) }).handler, { jwt: unsecured }, 403, 'Invalid token');
  });

  describe('public keys', () => {
    // The RSA private key as a KeyObject: a WebCrypto CryptoKey would sign with its one algorithm only, and these tests try others.
    let rsa: { pem: string; privateKey: KeyObject };
    let ec: { pem: string; privateKey: CryptoKey };
    before(async () => {
      const rsaPair = await generateKeyPair('RS256', { extractable: true });
      rsa = { pem: await exportSPKI(rsaPair.publicKey), privateKey: createPrivateKey(await exportPKCS8(rsaPair.privateKey)) };
      const ecPair = await generateKeyPair('ES256', { extractable: true });
      ec = { pem: await exportSPKI(ecPair.publicKey), privateKey: ecPair.privateKey };
    });
    const sign = (alg: string, key: CryptoKey | KeyObject | Uint8Array, claims: JWTPayload) => new SignJWT(claims).setProtectedHeader({ alg }).sign(key);

    test('an RSA key accepts RS256 and nothing else', async () => {
      const { handler } = handlerWith({ secret: undefined, publicKeyPem: rsa.pem });
      const exp = nowSeconds() + 60;
      assert.equal((await login(handler, { jwt: await sign('RS256', rsa.privateKey, { sub: 'rs', exp }) }))?.accountId, 'rs');
      await refused(handler, { jwt: await sign('PS256', rsa.privateKey, { sub: 'rs', exp }) }, 403, 'Invalid token');
      await refused(handler, { jwt: await sign('RS512', rsa.privateKey, { sub: 'rs', exp }) }, 403, 'Invalid token');
    });

    test('algorithm confusion: HS256 signed with the RSA public key as its secret is refused', async () => {
      const { handler } = handlerWith({ secret: undefined, publicKeyPem: rsa.pem });
      const forged = await sign('HS256', new TextEncoder().encode(rsa.pem), { sub: 'admin', exp: nowSeconds() + 60 });
      await refused(handler, { jwt: forged }, 403, 'Invalid token');
    });

    test('an EC P-256 key accepts ES256 and nothing else', async () => {
      const { handler } = handlerWith({ secret: undefined, publicKeyPem: ec.pem });
      const exp = nowSeconds() + 60;
      assert.equal((await login(handler, { jwt: await sign('ES256', ec.privateKey, { sub: 'es', exp }) }))?.accountId, 'es');
      await refused(handler, { jwt: await sign('RS256', rsa.privateKey, { sub: 'es', exp }) }, 403, 'Invalid token');
      await refused(handler, { jwt: await sign('HS256', new TextEncoder().encode(ec.pem), { sub: 'es', exp }) }, 403, 'Invalid token');
    });
  });
});

describe('JWT verification key (jwt-key.ts)', () => {
  const pem = (type: 'rsa' | 'ec' | 'ed25519', options: object = {}) =>
    generateKeyPairSync(type as 'rsa', { ...options, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } } as never) as unknown as {
      publicKey: string;
      privateKey: string;
    };

  test('the key decides the one algorithm', () => {
    assert.equal(verificationKeyOf({ secret: SECRET }).algorithm, 'HS256');
    assert.equal(verificationKeyOf({ publicKeyPem: pem('rsa', { modulusLength: 2048 }).publicKey }).algorithm, 'RS256');
    assert.equal(verificationKeyOf({ publicKeyPem: pem('ec', { namedCurve: 'P-256' }).publicKey }).algorithm, 'ES256');
  });

  test('a missing, doubled, short or unsupported key is a clear Error at creation', () => {
    const { log } = captureLogger();
    assert.throws(() => createJwtLoginHandler({ log }), /a key is required/);
    assert.throws(() => createJwtLoginHandler({ secret: SECRET, publicKeyPem: pem('ec', { namedCurve: 'P-256' }).publicKey, log }), /not both/);
    assert.throws(() => verificationKeyOf({ secret: 'x'.repeat(MIN_HS256_SECRET_BYTES - 1) }), /at least 32 bytes/);
    assert.throws(() => verificationKeyOf({ publicKeyPem: pem('rsa', { modulusLength: 1024 }).publicKey }), /1024 bits/);
    assert.throws(() => verificationKeyOf({ publicKeyPem: pem('ec', { namedCurve: 'P-384' }).publicKey }), /EC secp384r1 public key is not supported/);
    assert.throws(() => verificationKeyOf({ publicKeyPem: pem('ed25519').publicKey }), /ed25519 public key is not supported/);
    assert.throws(() => verificationKeyOf({ publicKeyPem: pem('ec', { namedCurve: 'P-256' }).privateKey }), /holds a private key/);
    assert.throws(() => verificationKeyOf({ publicKeyPem: 'not a pem' }), /not a PEM public key/);
  });

  test('limits are validated at creation', () => {
    const { log } = captureLogger();
    assert.throws(() => createJwtLoginHandler({ secret: SECRET, log, maxTokenBytes: 0 }), /maxTokenBytes must be a positive integer/);
    assert.throws(() => createJwtLoginHandler({ secret: SECRET, log, maxAccountIdLength: 1.5 }), /maxAccountIdLength/);
    assert.throws(() => createJwtLoginHandler({ secret: SECRET, log, clockToleranceSeconds: -1 }), /clockToleranceSeconds/);
  });
});
