import type { ConnectionHandle } from '../ddp/connection-handle';
import { MeteorError } from '../ddp/meteor-error';

/**
 * Login handlers: what the standalone `login` method asks, in order, whether
 * a login request is theirs and whom it logs in. Meteor's
 * `Accounts.registerLoginHandler` without a users collection: a handler
 * answers with an account id, not a user document, and no resume token is
 * minted (the client logs in again with its own credential after a reconnect).
 *
 * Example:
 *   const byApiKey: LoginHandler = ({ request }) =>
 *     typeof request.apiKey === 'string' ? { accountId: lookUp(request.apiKey) } : undefined;
 * Caveats: a handler must not log in itself (no setUserId): the `login`
 * method does that once a handler has answered, so the order of the
 * session's messages holds.
 */
export interface LoginAttempt {
  /** The `login` method's argument, already known to be a plain object. */
  readonly request: Record<string, unknown>;
  readonly connection: ConnectionHandle;
}

export interface LoginSuccess {
  /** Becomes the session's userId. */
  accountId: string;
  /** When the login ends on its own; the session is then logged out server-side (login-expiry.ts). */
  expiresAt?: Date;
}

/**
 * `undefined`: not this handler's kind of request, the next one is asked
 * (accounts_server.js `_runLoginHandlers`). A thrown MeteorError refuses the
 * login and reaches the client as it is; anything else thrown reaches it as
 * `500 Internal server error` and is logged.
 */
export type LoginHandler = (attempt: LoginAttempt) => LoginSuccess | undefined | Promise<LoginSuccess | undefined>;

/** accounts_server.js `_runLoginHandlers`, when no handler took the request. */
const unrecognizedLoginRequest = () => new MeteorError(400, 'Unrecognized options for login request');

/**
 * Ask each handler in turn; the first answer that is not `undefined` decides.
 * Throws the refusal of the handler that took the request, or
 * `unrecognizedLoginRequest()` when none did.
 */
export async function runLoginHandlers(handlers: readonly LoginHandler[], attempt: LoginAttempt): Promise<LoginSuccess> {
  for (const handler of handlers) {
    const result: unknown = await handler(attempt);
    if (result === undefined) continue;
    // Meteor's own words for a falsy answer; a truthy one without an id is a
    // programming error ("A login method must specify a userId or an error"),
    // hidden from the client as a 500.
    if (!result) throw new MeteorError(400, 'A login handler should return a result or undefined');
    return checkedSuccess(result);
  }
  throw unrecognizedLoginRequest();
}

function checkedSuccess(result: unknown): LoginSuccess {
  const { accountId, expiresAt } = result as Partial<LoginSuccess>;
  if (typeof accountId !== 'string' || accountId === '') throw new Error('A login handler must answer with a non-empty accountId');
  if (expiresAt === undefined) return { accountId };
  if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) throw new Error('A login handler\'s expiresAt must be a valid Date');
  return { accountId, expiresAt };
}
