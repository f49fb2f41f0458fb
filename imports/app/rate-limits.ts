import { PRESENCE_NAMES } from './presence';

/**
 * The presence app's default rate limits: per connection, a ceiling on each
 * of its methods and publications that no legitimate client reaches.
 *
 * Why: every call and `sub` costs a queue turn, a handler run and frames out;
 * a client looping on `getSessionId` (or re-subscribing in a loop) should be
 * answered with Meteor's `too-many-requests` error, not served thousands of
 * times a second, while every other connection is served as before.
 *
 * Example (both hosts register the same rules):
 *   registerPresenceRateLimits(DDPRateLimiter);                       // Meteor: from 'meteor/ddp-rate-limiter'
 *   registerPresenceRateLimits(meteor.DDPRateLimiter, { [PRESENCE_NAMES.roleMethod]: null }); // standalone, one rule off
 *
 * Caveats: the rules are per connection (a NAT shares an address, so none is
 * per address); many connections from one client are bounded by the DDP
 * server's per-address socket and session limits, not here. Another package's
 * rules on the same names (e.g. a global one) add to these.
 */

/** The part of Meteor's `DDPRateLimiter` the app uses; the standalone server's has the same. */
export interface RateLimitRegistry {
  addRule(matcher: PresenceRateLimitMatcher, numRequests: number, timeInterval: number): string;
}

/** A matcher in Meteor's shape (a subset of DDPRateLimiter.Matcher in @types/meteor). */
export interface PresenceRateLimitMatcher {
  type: 'method' | 'subscription';
  name: string;
  connectionId: (connectionId: string) => boolean;
}

export interface RateLimit {
  /** Calls (or subs) allowed per window; the next one in the window is refused. */
  numRequests: number;
  timeIntervalMs: number;
}

export type PresenceRateLimitName =
  | typeof PRESENCE_NAMES.getSessionIdMethod
  | typeof PRESENCE_NAMES.roleMethod
  | typeof PRESENCE_NAMES.listPublication
  | typeof PRESENCE_NAMES.countPublication
  | typeof PRESENCE_NAMES.statsPublication
  | typeof PRESENCE_NAMES.bridgeStatusPublication
  | typeof PRESENCE_NAMES.peoplePublication
  | typeof PRESENCE_NAMES.setIdleMethod;

/** One limit per name; `null` registers no rule for that name. */
export type PresenceRateLimits = Record<PresenceRateLimitName, RateLimit | null>;

const TYPE_OF: Readonly<Record<PresenceRateLimitName, PresenceRateLimitMatcher['type']>> = {
  [PRESENCE_NAMES.getSessionIdMethod]: 'method',
  [PRESENCE_NAMES.roleMethod]: 'method',
  [PRESENCE_NAMES.listPublication]: 'subscription',
  [PRESENCE_NAMES.countPublication]: 'subscription',
  [PRESENCE_NAMES.statsPublication]: 'subscription',
  [PRESENCE_NAMES.bridgeStatusPublication]: 'subscription',
  [PRESENCE_NAMES.peoplePublication]: 'subscription',
  [PRESENCE_NAMES.setIdleMethod]: 'method',
};

/**
 * 20 per second per connection, for each name. A legitimate client needs
 * each at most a few times per connection, not per second: the dashboard
 * calls `getSessionId` once per (re)connect (a reconnect is a new connection,
 * hence new counters), calls `presence.role` and re-subscribes the list once
 * per token a person submits, and subscribes to the count once; a monitor
 * subscribes to `presence.stats` and `presence.bridgeStatus` once per
 * connection and token as well (a `sub` of the stats sends 15 minutes of
 * history per instance, so a loop of them is the costly one to cap); static
 * pages and programs call `getSessionId` once. 20/s leaves an order of
 * magnitude of headroom for retries and scripted checks while capping a
 * looping client at 20 answers a second per name. Meteor's own default
 * (accounts-base, login and friends) is stricter: 5 per 10 s per connection.
 *
 * `presence.setIdle` is 20 per 10 s: each call that changes something is a
 * record write and an MQTT publish, and the client helper reports only
 * changes (idle after a minute, active on input, hidden/visible), so a
 * person flicking between tabs stays under it while a loop is capped.
 */
export const defaultPresenceRateLimits: Readonly<PresenceRateLimits> = Object.freeze({
  [PRESENCE_NAMES.getSessionIdMethod]: { numRequests: 20, timeIntervalMs: 1000 },
  [PRESENCE_NAMES.roleMethod]: { numRequests: 20, timeIntervalMs: 1000 },
  [PRESENCE_NAMES.listPublication]: { numRequests: 20, timeIntervalMs: 1000 },
  [PRESENCE_NAMES.countPublication]: { numRequests: 20, timeIntervalMs: 1000 },
  [PRESENCE_NAMES.statsPublication]: { numRequests: 20, timeIntervalMs: 1000 },
  [PRESENCE_NAMES.bridgeStatusPublication]: { numRequests: 20, timeIntervalMs: 1000 },
  [PRESENCE_NAMES.peoplePublication]: { numRequests: 20, timeIntervalMs: 1000 },
  [PRESENCE_NAMES.setIdleMethod]: { numRequests: 20, timeIntervalMs: 10_000 },
});

/** Each connection its own counter (accounts-base writes `connectionId: (connectionId) => true` too). */
const eachConnection = (_connectionId: string): boolean => true;

/**
 * Add one rule per name (defaults, then `overrides` by name); returns the
 * rule ids by name, for `removeRule`. Every limit is checked before any rule
 * is added.
 */
export function registerPresenceRateLimits(
  limiter: RateLimitRegistry,
  overrides: Partial<PresenceRateLimits> = {},
): Partial<Record<PresenceRateLimitName, string>> {
  const limits: PresenceRateLimits = { ...defaultPresenceRateLimits };
  for (const [name, limit] of Object.entries(overrides) as Array<[string, RateLimit | null | undefined]>) {
    if (!Object.hasOwn(TYPE_OF, name)) throw new TypeError(`No presence rate limit named '${name}'`);
    if (limit !== undefined) limits[name as PresenceRateLimitName] = limit;
  }
  for (const [name, limit] of Object.entries(limits)) {
    if (limit === null) continue;
    // Meteor replaces a 0 with its default (10 per 1000 ms); refuse it instead of surprising.
    if (!Number.isInteger(limit.numRequests) || limit.numRequests < 1) throw new TypeError(`Rate limit for '${name}': numRequests must be a positive integer`);
    if (!Number.isFinite(limit.timeIntervalMs) || limit.timeIntervalMs < 1) throw new TypeError(`Rate limit for '${name}': timeIntervalMs must be a positive number`);
  }
  const ids: Partial<Record<PresenceRateLimitName, string>> = {};
  for (const [name, limit] of Object.entries(limits) as Array<[PresenceRateLimitName, RateLimit | null]>) {
    if (limit === null) continue;
    ids[name] = limiter.addRule({ type: TYPE_OF[name], name, connectionId: eachConnection }, limit.numRequests, limit.timeIntervalMs);
  }
  return ids;
}
