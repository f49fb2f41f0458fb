import { createHash, timingSafeEqual } from 'node:crypto';
import type { HostConnection } from './host';

/**
 * Who may see everyone. A policy gets the subscriber's context and answers
 * 'monitor' (every record, every field) or 'self' (its own record only,
 * without clientAddress). Replace it to decide from `userId` and roles.
 */
export type ViewerRole = 'monitor' | 'self';

export interface PolicyContext {
  connection: HostConnection;
  userId: string | null;
  /** The subscription's parameters, untrusted and unvalidated. */
  params: unknown[];
}

/** Longer offered tokens are not even hashed (a client must not make us hash megabytes); config refuses a longer configured one. */
export const MAX_MONITOR_TOKEN_LENGTH = 1024;

export type PresencePolicy = (context: PolicyContext) => ViewerRole | Promise<ViewerRole>;

/** Who may see `list.onlineUsers` (issue 14): decided from the same context plus the policy's role. */
export type PeoplePolicy = (context: PolicyContext & { role: ViewerRole }) => boolean | Promise<boolean>;

/** Default: monitors and logged-in connections see who is online; anonymous clients do not. */
export const defaultPeoplePolicy: PeoplePolicy = ({ role, userId }) => role === 'monitor' || userId !== null;

/**
 * Default policy: monitor when the first parameter is `{ token }` and the
 * token equals the configured one. Both sides are hashed first so the
 * comparison is constant-time whatever the lengths; with no token configured
 * the same work is done and the answer is always 'self', so a wrong token
 * cannot tell whether a token exists.
 */
export function tokenPolicy(monitorToken: string | undefined): PresencePolicy {
  const expected = digest(monitorToken ?? '');
  return ({ params }) => {
    const offered = extractToken(params[0]);
    const matches = timingSafeEqual(digest(offered ?? ''), expected);
    return monitorToken && offered !== null && matches ? 'monitor' : 'self';
  };
}

/**
 * Constant-time equality of an offered secret and the expected one, whatever
 * their lengths (both are hashed first, as tokenPolicy does). Also used for
 * METRICS_TOKEN (imports/metrics/metrics-endpoint.ts).
 */
export function secretsEqual(offered: string, expected: string): boolean {
  return timingSafeEqual(digest(offered), digest(expected));
}

function extractToken(param: unknown): string | null {
  if (typeof param !== 'object' || param === null) return null;
  const token = (param as { token?: unknown }).token;
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_MONITOR_TOKEN_LENGTH ? token : null;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
