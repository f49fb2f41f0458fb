import type { ConnectionHandle } from '../ddp/connection-handle';
import type { Logger } from '../log/logger';

/**
 * Ends logins at their `expiresAt`: one unref'd timer per logged-in
 * connection whose login expires, and nothing at all for anonymous ones.
 *
 * Why: a JWT is only good until its `exp`; a session that logged in with it
 * must not stay logged in past that. Meteor closes the connection when a
 * login token is deleted (accounts_server.js `_setLoginToken`'s observe);
 * here the session is logged out instead (`expireSession`, i.e.
 * `DdpServer.setUserIdOf(id, null)`), so its subscriptions rerun as
 * anonymous and the socket stays.
 * Example:
 *   const expiry = new LoginExpiry((c) => ddp.setUserIdOf(c.id, null), log);
 *   expiry.loggedIn(connection, 'alice', new Date(exp * 1000));
 * Caveats:
 * - Only the login that armed a timer is ended: a later login or logout
 *   through the methods, or any userId change (`userIdChanged`), disarms it.
 * - A login method running when the timer fires settles the expiry itself
 *   (`attemptStarted`): `expireSession` is queued behind the session's
 *   messages and would otherwise log out the fresh login that method makes.
 *   A login still waiting in the session's queue (behind a method that
 *   blocks) is not seen, and is logged out right after it succeeds; the
 *   DDP server offers no conditional, serialized userId change to close that.
 * - One `onClose` per connection that ever armed a timer, for its lifetime:
 *   ConnectionHandle has no way to unregister one.
 */
export interface LoginExpiryOptions {
  /**
   * Longest single setTimeout; a later expiry waits in legs of this length.
   * Node fires a longer delay after 1 ms (TIMEOUT_MAX, 2^31-1 ms, ~24.8 days).
   */
  maxTimerDelayMs: number;
}

export const LOGIN_EXPIRY_DEFAULTS: LoginExpiryOptions = {
  maxTimerDelayMs: 2 ** 31 - 1,
};

/** Log the connection's session out; a rejection is logged. */
export type ExpireSession = (connection: ConnectionHandle) => Promise<unknown>;

/** Ends a login attempt; true when the session must now be logged out (its login expired meanwhile and the attempt did not replace it). */
export type EndLoginAttempt = () => boolean;

interface ArmedLogin {
  readonly accountId: string;
  readonly expiresAtMs: number;
  timer: NodeJS.Timeout | null;
  /** The time came while a login attempt ran; that attempt settles it. */
  expired: boolean;
}

interface ConnectionLogin {
  readonly connection: ConnectionHandle;
  /** The login whose expiry is pending, if any. */
  login: ArmedLogin | null;
  /** Login methods running on this connection. */
  attempts: number;
}

const NO_ATTEMPT: EndLoginAttempt = () => false;

export class LoginExpiry {
  private readonly options: LoginExpiryOptions;
  private readonly connections = new Map<string, ConnectionLogin>();
  private stopped = false;

  constructor(
    private readonly expireSession: ExpireSession,
    private readonly log: Logger,
    options: Partial<LoginExpiryOptions> = {},
  ) {
    this.options = { ...LOGIN_EXPIRY_DEFAULTS, ...options };
    const { maxTimerDelayMs } = this.options;
    if (!Number.isSafeInteger(maxTimerDelayMs) || maxTimerDelayMs < 1 || maxTimerDelayMs > LOGIN_EXPIRY_DEFAULTS.maxTimerDelayMs) {
      throw new Error(`maxTimerDelayMs must be an integer from 1 to ${LOGIN_EXPIRY_DEFAULTS.maxTimerDelayMs}, got ${maxTimerDelayMs}`);
    }
  }

  /** Connections holding state (a pending expiry, or a past one and their onClose); anonymous ones never do. */
  get trackedConnections(): number {
    return this.connections.size;
  }

  /** A login method starts on this connection; call the returned function once it has finished, however it finished. */
  attemptStarted(connection: ConnectionHandle): EndLoginAttempt {
    const state = this.connections.get(connection.id);
    // No state: no login of ours can expire while this attempt runs.
    if (!state) return NO_ATTEMPT;
    state.attempts++;
    let ended = false;
    return () => {
      if (ended) return false;
      ended = true;
      state.attempts--;
      if (!state.login?.expired) return false;
      state.login = null;
      this.log.debug('Login expired during a login attempt', { session: connection.id });
      return true;
    };
  }

  /** The connection is now logged in as `accountId` (the previous login's expiry, if any, is disarmed). */
  loggedIn(connection: ConnectionHandle, accountId: string, expiresAt?: Date): void {
    let state = this.connections.get(connection.id);
    if (state) this.disarm(state);
    // A login that never expires needs nothing, unless an earlier one left state to update.
    if (!expiresAt || this.stopped) return;
    if (!state) {
      const created: ConnectionLogin = (state = { connection, login: null, attempts: 0 });
      this.connections.set(connection.id, created);
      connection.onClose(() => this.forget(created));
    }
    state.login = { accountId, expiresAtMs: expiresAt.getTime(), timer: null, expired: false };
    this.arm(state, state.login);
  }

  loggedOut(connection: ConnectionHandle): void {
    const state = this.connections.get(connection.id);
    if (state) this.disarm(state);
  }

  /** The session's userId changed, by whatever means: a login of ours for another user (or none) is no longer current. */
  userIdChanged(connection: ConnectionHandle, userId: string | null): void {
    const state = this.connections.get(connection.id);
    if (state?.login && state.login.accountId !== userId) this.disarm(state);
  }

  /** Clears every timer; later logins are not armed (the server is going away). */
  stop(): void {
    this.stopped = true;
    for (const state of this.connections.values()) this.disarm(state);
    this.connections.clear();
  }

  private arm(state: ConnectionLogin, login: ArmedLogin): void {
    const delay = Math.min(Math.max(0, login.expiresAtMs - Date.now()), this.options.maxTimerDelayMs);
    // unref: a pending expiry must not keep the process alive.
    login.timer = setTimeout(() => this.timerFired(state, login), delay).unref();
  }

  private timerFired(state: ConnectionLogin, login: ArmedLogin): void {
    login.timer = null;
    if (state.login !== login) return;
    if (Date.now() < login.expiresAtMs) return this.arm(state, login); // one leg of a long wait
    if (state.attempts > 0) {
      login.expired = true;
      return;
    }
    state.login = null;
    const { connection } = state;
    this.log.debug('Login expired', { session: connection.id });
    this.expireSession(connection).catch((error) => this.log.error('Could not log out an expired login', { session: connection.id, error }));
  }

  private disarm(state: ConnectionLogin): void {
    if (state.login?.timer) clearTimeout(state.login.timer);
    state.login = null;
  }

  private forget(state: ConnectionLogin): void {
    this.disarm(state);
    if (this.connections.get(state.connection.id) === state) this.connections.delete(state.connection.id);
  }
}
