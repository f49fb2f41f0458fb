import { webcrypto, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { MeteorError } from '../ddp/meteor-error';
import type { Logger } from '../log/logger';
import { verificationKeyOf, type JwtAlgorithm, type JwtKeyOptions } from './jwt-key';
import type { LoginAttempt, LoginHandler, LoginSuccess } from './login-handler';

/**
 * The built-in login handler: `login({jwt: '<compact JWS>'})` logs the
 * session in as the token's `sub` until its `exp`.
 *
 * Why: the presence app keeps no users collection; whoever issues tokens
 * (an identity provider, the app's own backend) vouches for the account.
 * Example:
 *   const jwtLogin = createJwtLoginHandler({ secret: config.jwt.secret, issuer: 'https://id.example', log });
 *   registerStandaloneAccounts(ddp, { handlers: [jwtLogin], log });
 * Caveats: the key fixes the one algorithm accepted (jwt-key.ts); `exp` is
 * required, so no login lasts for ever; every refusal is a 403 whose reason
 * says no more than 'Invalid token' or 'Token expired' (the cause is logged at
 * debug, never the token); a `jwt` that is not a string is Meteor's `400
 * Match failed`, as `check(options.resume, String)` answers for resume logins.
 */
export interface JwtLoginOptions extends JwtKeyOptions {
  /** The `iss` a token must carry (RFC 7519 §4.1.1); unchecked when absent. */
  issuer?: string;
  /** The `aud` a token must carry (RFC 7519 §4.1.3); unchecked when absent. */
  audience?: string;
  /** Longest `sub` taken as an account id. */
  maxAccountIdLength?: number;
  /** Seconds of clock skew allowed when checking `exp` and `nbf`. */
  clockToleranceSeconds?: number;
  /** Longest token (UTF-8 bytes) that is parsed at all. */
  maxTokenBytes?: number;
  log: Logger;
}

export const JWT_LOGIN_DEFAULTS = {
  /** The record schema's id limit (imports/app/connected-user-schema.ts RECORD_LIMITS.maxIdLength): longer ids could not be recorded. */
  maxAccountIdLength: 64,
  clockToleranceSeconds: 0,
  /** Far above a real token (~1 KB with an RS256 signature), far below a DDP frame. */
  maxTokenBytes: 8192,
} as const;

/** The login request this handler takes. */
export interface JwtLoginRequest {
  jwt: string;
}

/** Why a token was refused, for the debug log (the client only learns `invalid` or `expired`). */
type RefusalCause = 'oversize' | 'verification' | 'sub' | 'exp';

export function createJwtLoginHandler(options: JwtLoginOptions): LoginHandler {
  const { key, algorithm } = verificationKeyOf(options);
  // Imported once: handed a KeyObject, jose imports it into Web Crypto on every verification (~50 µs of ~190; bench "people").
  const cryptoKey = toCryptoKey(key, algorithm);
  cryptoKey.catch(() => {}); // a failure is reported by the first login that awaits it
  const maxAccountIdLength = positiveInteger(options, 'maxAccountIdLength');
  const clockToleranceSeconds = nonNegativeNumber(options, 'clockToleranceSeconds');
  const maxTokenBytes = positiveInteger(options, 'maxTokenBytes');
  const { issuer, audience, log } = options;

  const refuse = (attempt: LoginAttempt, cause: RefusalCause, detail: string, reason = 'Invalid token'): never => {
    log.debug('JWT login refused', { session: attempt.connection.id, cause, detail });
    throw new MeteorError(403, reason);
  };

  return async (attempt) => {
    if (!Object.hasOwn(attempt.request, 'jwt')) return undefined;
    const token = attempt.request.jwt;
    // accounts_server.js: a handler checks its own field (`check(options.resume, String)`); a Match.Error reaches the client as 400.
    if (typeof token !== 'string') throw new MeteorError(400, 'Match failed');
    // `length` first: it never exceeds the byte length, and it costs nothing on a huge string.
    if (token.length > maxTokenBytes || Buffer.byteLength(token) > maxTokenBytes) {
      return refuse(attempt, 'oversize', `over maxTokenBytes (${maxTokenBytes})`);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await cryptoKey, {
        // RFC 8725 §3.1: only the key's algorithm; `none` and every other one are refused.
        algorithms: [algorithm],
        issuer,
        audience,
        clockTolerance: clockToleranceSeconds,
        // A token without `exp` would log a session in for ever.
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) return refuse(attempt, 'exp', error.message, 'Token expired');
      if (!(error instanceof errors.JOSEError)) log.warn('JWT verification failed unexpectedly', { session: attempt.connection.id, error });
      return refuse(attempt, 'verification', describe(error));
    }
    const { sub, exp } = payload;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > maxAccountIdLength) {
      return refuse(attempt, 'sub', `"sub" must be a string of 1 to ${maxAccountIdLength} characters`);
    }
    // jose checked that `exp` is a number in the future; a Date cannot hold every number (RFC 7519 allows any NumericDate).
    const expiresAt = new Date((exp as number) * 1000);
    if (Number.isNaN(expiresAt.getTime())) return refuse(attempt, 'exp', '"exp" is beyond the range of a Date');
    const success: LoginSuccess = { accountId: sub, expiresAt };
    return success;
  };
}

const WEB_CRYPTO_ALGORITHM: Record<JwtAlgorithm, Parameters<typeof webcrypto.subtle.importKey>[2]> = {
  HS256: { name: 'HMAC', hash: 'SHA-256' },
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
};

/** The key as a Web Crypto key for its one algorithm, verify only (Node 20's KeyObject has no toCryptoKey). */
function toCryptoKey(key: KeyObject, algorithm: JwtAlgorithm): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('jwk', key.export({ format: 'jwk' }), WEB_CRYPTO_ALGORITHM[algorithm], false, ['verify']);
}

function describe(error: unknown): string {
  if (error instanceof errors.JOSEError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function positiveInteger(options: JwtLoginOptions, name: 'maxAccountIdLength' | 'maxTokenBytes'): number {
  const value = options[name] ?? JWT_LOGIN_DEFAULTS[name];
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`JWT login: ${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegativeNumber(options: JwtLoginOptions, name: 'clockToleranceSeconds'): number {
  const value = options[name] ?? JWT_LOGIN_DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`JWT login: ${name} must be a number ≥ 0, got ${value}`);
  return value;
}
