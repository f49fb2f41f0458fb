import type { PresenceFields } from './presence-view';
import { isPlainObject } from '../common/is-plain-object';

/**
 * The options a monitor may pass to `list.connectedUsers`, next to its token,
 * in the first parameter: `{ token?, search?, instanceId?, accountId?, sort?, limit? }`.
 *
 * - `search`: case-insensitive substring of the session id, client address,
 *   user agent, instance id or account id (at most
 *   `LIST_OPTION_LIMITS.maxSearchLength`; an empty string filters nothing);
 * - `instanceId`: only that instance's records (exact match);
 * - `accountId`: only that person's connections (exact match; issue 14);
 * - `sort`: `'newest'` (default) or `'oldest'`, by `connectedAt`, ties by `_id`;
 *   `'newest'` is exactly the reverse of `'oldest'`;
 * - `limit`: an integer 1..`maxLimit`: publish only the first `limit` matches
 *   in that order, live (a window). Without it every match is published.
 *
 * Why pure: validation happens before any side effect (the publication calls
 * `this.error` with a 400 and publishes nothing), and the same checks are
 * unit-tested without a server.
 *
 * Example: `parseListOptions({ token, search: 'chrome', limit: 50 })`
 *   → `{ ok: true, options: { search: 'chrome', sort: 'newest', limit: 50 } }`.
 *
 * Caveats: keys it does not know (like `token`, which the policy reads) are
 * ignored, so older and newer clients keep working. Only monitors' options are
 * read: for everyone else the policy's answer (own record only) stands.
 */
export const LIST_OPTION_LIMITS = {
  maxLimit: 1000,
  maxSearchLength: 200,
  maxInstanceIdLength: 200,
  maxAccountIdLength: 64,
} as const;

export type ListSort = 'newest' | 'oldest';

export interface ListOptions {
  /** Lower-cased; absent when no search was asked for (or it was empty). */
  search?: string;
  instanceId?: string;
  accountId?: string;
  sort: ListSort;
  /** Absent: every match, no window. */
  limit?: number;
}

export type ParsedListOptions = { ok: true; options: ListOptions } | { ok: false; reason: string };

export function parseListOptions(param: unknown, limits: typeof LIST_OPTION_LIMITS = LIST_OPTION_LIMITS): ParsedListOptions {
  if (param === undefined || param === null) return { ok: true, options: { sort: 'newest' } };
  if (!isPlainObject(param)) return { ok: false, reason: 'Options must be an object' };
  const { search, instanceId, accountId, sort, limit } = param;
  const options: ListOptions = { sort: 'newest' };
  if (search !== undefined) {
    if (typeof search !== 'string' || search.length > limits.maxSearchLength) {
      return { ok: false, reason: `search must be a string of at most ${limits.maxSearchLength} characters` };
    }
    if (search.length > 0) options.search = search.toLowerCase();
  }
  if (instanceId !== undefined) {
    if (typeof instanceId !== 'string' || instanceId.length === 0 || instanceId.length > limits.maxInstanceIdLength) {
      return { ok: false, reason: `instanceId must be a string of 1 to ${limits.maxInstanceIdLength} characters` };
    }
    options.instanceId = instanceId;
  }
  if (accountId !== undefined) {
    if (typeof accountId !== 'string' || accountId.length === 0 || accountId.length > limits.maxAccountIdLength) {
      return { ok: false, reason: `accountId must be a string of 1 to ${limits.maxAccountIdLength} characters` };
    }
    options.accountId = accountId;
  }
  if (sort !== undefined) {
    if (sort !== 'newest' && sort !== 'oldest') return { ok: false, reason: "sort must be 'newest' or 'oldest'" };
    options.sort = sort;
  }
  if (limit !== undefined) {
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > limits.maxLimit) {
      return { ok: false, reason: `limit must be an integer from 1 to ${limits.maxLimit}` };
    }
    options.limit = limit;
  }
  return { ok: true, options };
}

/** True when the options select every record (no search, no instance or account filter). */
export function selectsEverything(options: ListOptions): boolean {
  return options.search === undefined && options.instanceId === undefined && options.accountId === undefined;
}

/** The record filter the options describe; `fields` are a view record's fields (without `_id`). */
export function recordMatcher(options: ListOptions): (id: string, fields: PresenceFields) => boolean {
  const { search, instanceId, accountId } = options;
  return (id, fields) => {
    if (instanceId !== undefined && fields.instanceId !== instanceId) return false;
    if (accountId !== undefined && fields.accountId !== accountId) return false;
    if (search === undefined) return true;
    return (
      id.toLowerCase().includes(search) ||
      includesFolded(fields.clientAddress, search) ||
      includesFolded(fields.userAgent, search) ||
      includesFolded(fields.instanceId, search) ||
      includesFolded(fields.accountId, search)
    );
  };
}

function includesFolded(value: unknown, needle: string): boolean {
  return typeof value === 'string' && value.toLowerCase().includes(needle);
}
