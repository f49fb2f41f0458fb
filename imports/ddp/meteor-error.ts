import type { Logger } from '../log/logger';

/**
 * The one error factory of the DDP server: `Meteor.Error` and the mapping of
 * any thrown value to what a client may see.
 *
 * Why: clients only ever see client-safe errors; anything else becomes
 * Meteor's `500 Internal server error` and is logged here, never sent.
 * Wire shape (same key order as Meteor's serialised Meteor.Error):
 * `{isClientSafe, error, reason, details?, message, errorType: "Meteor.Error"}`.
 * `details` is a string or, as Meteor itself sends for `too-many-requests`,
 * an EJSON-able object (`{timeToReset}`); @types/meteor only declares strings.
 */
export type MeteorErrorDetails = string | Readonly<Record<string, unknown>>;

export class MeteorError extends Error {
  readonly isClientSafe = true;
  readonly errorType = 'Meteor.Error';
  constructor(
    public readonly error: string | number,
    public readonly reason?: string,
    public readonly details?: MeteorErrorDetails,
  ) {
    super(reason ? `${reason} [${error}]` : `[${error}]`);
  }

  toWire(): WireError {
    const wire: WireError = { isClientSafe: true, error: this.error, reason: this.reason };
    if (this.details !== undefined) wire.details = this.details;
    wire.message = this.message;
    wire.errorType = this.errorType;
    return wire;
  }
}

export interface WireError {
  isClientSafe: true;
  error: string | number;
  reason?: string;
  details?: unknown;
  message?: string;
  errorType?: string;
}

/** Stable codes and reasons the server itself produces. */
export const DdpErrors = {
  methodNotFound: (name: string) => new MeteorError(404, `Method '${echoName(name)}' not found`),
  subscriptionNotFound: (name: string) => new MeteorError(404, `Subscription '${echoName(name)}' not found`),
  internal: () => new MeteorError(500, 'Internal server error'),
  tooManyParams: (max: number) => new MeteorError(400, `Too many parameters (at most ${max})`),
  // ddp-server livedata_server.js, when DDPRateLimiter._check refuses a method or sub.
  tooManyRequests: (message: string, timeToReset: number) => new MeteorError('too-many-requests', message, { timeToReset }),
} as const;

/** Names a client made up are echoed at most this long: the reply must not outgrow the request (Meteor echoes them whole, twice). */
const MAX_ECHOED_NAME = 256;

function echoName(name: string): string {
  return name.length > MAX_ECHOED_NAME ? name.slice(0, MAX_ECHOED_NAME) + '…' : name;
}

/** Connection-level `{msg:"error"}` reasons, exactly as Meteor words them. */
export type ProtocolErrorReason =
  | 'Parse error'
  | 'Bad request'
  | 'Must connect first'
  | 'Already connected'
  | 'Malformed subscription'
  | 'Malformed method invocation';

/**
 * Meteor's wrapInternalException: client-safe errors pass through (also ones
 * that merely carry `isClientSafe`), everything else is logged and hidden.
 * `logContext` (the session, at least) goes on the log line, so an
 * operator can tell whose call failed.
 */
export function toClientError(thrown: unknown, context: string, log: Logger, logContext: Record<string, unknown> = {}): WireError {
  if (thrown instanceof MeteorError) return thrown.toWire();
  if (isClientSafeLike(thrown)) {
    const wire = new MeteorError(thrown.error, thrown.reason, thrown.details).toWire();
    if (typeof thrown.message === 'string') wire.message = thrown.message;
    return wire;
  }
  log.error(`Exception ${context}`, { ...logContext, error: thrown instanceof Error ? thrown : String(thrown) });
  return DdpErrors.internal().toWire();
}

function isClientSafeLike(
  value: unknown,
): value is { isClientSafe: true; error: string | number; reason?: string; details?: MeteorErrorDetails; message?: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { isClientSafe?: unknown }).isClientSafe === true &&
    ['string', 'number'].includes(typeof (value as { error?: unknown }).error)
  );
}
