import { PRESENCE_NAMES } from '../app/wire-contract';
import type { MethodContext } from '../ddp/contexts';
import type { DdpServer } from '../ddp/ddp-server';
import { MeteorError } from '../ddp/meteor-error';
import type { Logger } from '../log/logger';
import { LoginExpiry, type LoginExpiryOptions } from './login-expiry';
import { runLoginHandlers, type LoginHandler } from './login-handler';

/**
 * Meteor's `login` and `logout` methods for the standalone DDP server, over
 * pluggable login handlers (login-handler.ts) instead of a users collection.
 *
 * Wire behaviour, as accounts_server.js:
 * - `login(request)`: `check(options, Object)`, so anything but a plain
 *   object is `400 Match failed`; the handlers are asked in order; none
 *   takes it: `400 Unrecognized options for login request`; a refusal
 *   reaches the client as the handler threw it. A failed attempt leaves the
 *   session's login as it was (Meteor's `_attemptLogin` throws without
 *   calling setUserId). Success: the session's userId is set (its
 *   subscriptions rerun) before the result `{id, tokenExpires?}` goes out;
 *   there is no resume `token`, so a client logs in again after a reconnect.
 * - `logout()`: the session is anonymous again; returns nothing.
 * A login with `expiresAt` ends there on its own (login-expiry.ts).
 * `login` is rate limited per connection as accounts-base does by default
 * (`addDefaultRateLimit`: 5 calls per 10 s), and so is `logout` (each reruns
 * the session's subscriptions), unless `loginRateLimit: null`.
 *
 * Example:
 *   const accounts = registerStandaloneAccounts(ddp, { handlers: [createJwtLoginHandler({ secret, log })], log });
 *   // at shutdown: accounts.stop();
 * Caveats: the methods stay registered after `stop()` (the server has no
 * way to remove one); `login` then fails with a 500 rather than log a
 * session in that would never expire.
 */
export interface StandaloneAccountsOptions {
  /** Asked in this order; the first that answers decides. */
  handlers: readonly LoginHandler[];
  log: Logger;
  expiry?: Partial<LoginExpiryOptions>;
  /** Calls of `login`, and of `logout`, per connection per window; null: no rule. Default `DEFAULT_LOGIN_RATE_LIMIT`. */
  loginRateLimit?: LoginRateLimit | null;
}

export interface LoginRateLimit {
  numRequests: number;
  timeIntervalMs: number;
}

/** accounts_server.js `addDefaultRateLimit`: login (and createUser, resetPassword, forgotPassword), 5 per 10 s per connection. */
export const DEFAULT_LOGIN_RATE_LIMIT: Readonly<LoginRateLimit> = Object.freeze({ numRequests: 5, timeIntervalMs: 10_000 });

export interface StandaloneAccounts {
  /** Clears every expiry timer, stops following userId changes and removes the login rate limit. */
  stop(): void;
}

/** The parts of the DDP server these methods use. */
export type AccountsHost = Pick<DdpServer, 'methods' | 'setUserIdOf' | 'onUserIdChange' | 'rateLimiter'>;

/** What Meteor sends for a failed `check` (match.js: Match.Error's sanitizedError). */
const matchFailed = () => new MeteorError(400, 'Match failed');

export function registerStandaloneAccounts(
  ddp: AccountsHost,
  { handlers, log, expiry, loginRateLimit = DEFAULT_LOGIN_RATE_LIMIT }: StandaloneAccountsOptions,
): StandaloneAccounts {
  const handlerList = [...handlers];
  if (loginRateLimit) {
    const { numRequests, timeIntervalMs } = loginRateLimit;
    // addRule would read 0 as "the default" (Meteor's `numRequests || 10`).
    if (!Number.isSafeInteger(numRequests) || numRequests < 1) throw new Error(`loginRateLimit.numRequests must be a positive integer, got ${numRequests}`);
    if (!Number.isSafeInteger(timeIntervalMs) || timeIntervalMs < 1) throw new Error(`loginRateLimit.timeIntervalMs must be a positive integer, got ${timeIntervalMs}`);
  }
  const logins = new LoginExpiry(async (connection) => {
    if (!(await ddp.setUserIdOf(connection.id, null))) log.debug('Expired login: session already gone', { session: connection.id });
  }, log, expiry);
  const userIdWatch = ddp.onUserIdChange((connection, userId) => logins.userIdChanged(connection, userId));
  // `logout` gets the same limit, which Meteor's defaults do not give it: each one reruns every subscription
  // of its session, so 2,000 pipelined logouts over 500 subscriptions stalled other sessions ~300 ms.
  const rateLimitRules = loginRateLimit
    ? [PRESENCE_NAMES.loginMethod, PRESENCE_NAMES.logoutMethod].map((name) =>
        ddp.rateLimiter.api.addRule(
          // Same matcher as accounts-base: any user, any address, each connection its own counter.
          { userId: null, clientAddress: null, type: 'method', name, connectionId: () => true },
          loginRateLimit.numRequests,
          loginRateLimit.timeIntervalMs,
        ),
      )
    : [];
  let stopped = false;

  ddp.methods({
    async [PRESENCE_NAMES.loginMethod](this: MethodContext, request: unknown) {
      // accounts_server.js: "check(options, Object)", before any handler runs.
      if (!passesCheckObject(request)) throw matchFailed();
      if (stopped) throw new Error('login called after the accounts were stopped');
      const { connection } = this;
      const endAttempt = logins.attemptStarted(connection);
      try {
        const { accountId, expiresAt } = await runLoginHandlers(handlerList, { request, connection });
        await this.setUserId(accountId);
        logins.loggedIn(connection, accountId, expiresAt);
        log.debug('Logged in', { session: connection.id, account: accountId, expiresAt });
        return expiresAt ? { id: accountId, tokenExpires: expiresAt } : { id: accountId };
      } finally {
        // The previous login expired while this attempt ran and the attempt did not replace it.
        if (endAttempt()) await this.setUserId(null);
      }
    },

    async [PRESENCE_NAMES.logoutMethod](this: MethodContext) {
      logins.loggedOut(this.connection);
      await this.setUserId(null);
    },
  });

  return {
    stop() {
      stopped = true;
      userIdWatch.stop();
      logins.stop();
      for (const rule of rateLimitRules) ddp.rateLimiter.api.removeRule(rule);
    },
  };
}

/** match.js isPlainObject (jQuery's): what `check(value, Object)` accepts. */
function passesCheckObject(value: unknown): value is Record<string, unknown> {
  if (!value || Object.prototype.toString.call(value) !== '[object Object]') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype;
}
