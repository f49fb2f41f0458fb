import type { Logger } from '../log/logger';
import { DdpErrors, type MeteorError } from './meteor-error';
import { randomId } from './random-id';

/**
 * Meteor's rate limiting for the standalone DDP server, in two layers:
 * - `RateLimiter` is Meteor's `rate-limit` package (packages/rate-limit/rate-limit.js):
 *   rules, per-key counters, fixed windows. Pure: time comes from `now`.
 * - `DdpRateLimiter` is Meteor's `ddp-rate-limiter` (its error messages and the
 *   `DDPRateLimiter` object apps call) plus what the server needs around it:
 *   the `too-many-requests` error, counts of limited calls, one log line per
 *   rule per window.
 *
 * Why: a client that loops on a method or a `sub` costs the server work per
 * frame; a rule bounds what one connection (or address, or name) may do.
 *
 * Example:
 *   const { DDPRateLimiter } = meteor;   // standalone; Meteor: import from 'meteor/ddp-rate-limiter'
 *   DDPRateLimiter.addRule({ type: 'method', name: 'getSessionId', connectionId: () => true }, 20, 1000);
 *   // the 21st call within the window gets Meteor.Error('too-many-requests', …, {timeToReset})
 *
 * Semantics carried over from rate-limit.js: a matcher key that is `null` or
 * absent matches anything and does not split counters; a value must be `===`
 * (so `undefined` matches nothing, as in Meteor); a function must return
 * truthy. Each matched input is counted under the rule's bucket for the
 * input's values of the matcher's non-null keys. Every call is counted
 * (limited ones too), then checked: more than `numRequests` in the window is
 * not allowed. A rule's window starts when it is added and restarts at the
 * first matching input after it has run out; all its buckets go at once.
 *
 * Deliberate differences (Meteor's behaviour there is accidental):
 * - buckets are keyed collision-free (Meteor concatenates key and value);
 * - expired buckets are dropped on any call, not only the rule's next match,
 *   so idle rules hold at most one window's buckets;
 * - when several rules match, `ruleId` and `timeToReset` come from the rule
 *   that decided the reply (Meteor reports the last matched rule's id, and can
 *   keep an allowing rule's longer timeToReset), and callbacks get the final
 *   reply after all rules were checked;
 * - a matcher key other than the five input keys throws (in Meteor it
 *   silently never matches), as do non-positive or non-finite limits.
 */

export type RateLimitType = 'method' | 'subscription';

/** One method call or subscription, as livedata_server.js describes it (same key order). */
export interface RateLimitInput {
  userId: string | null;
  clientAddress: string | null;
  type: RateLimitType;
  name: string;
  connectionId: string;
}

type FieldMatcher<T> = T | ((value: T) => boolean) | null | undefined;

/** A subset of the input's keys: a value, a predicate, or null (anything). */
export interface RateLimitMatcher {
  type?: FieldMatcher<string>;
  name?: FieldMatcher<string>;
  userId?: FieldMatcher<string | null>;
  connectionId?: FieldMatcher<string>;
  clientAddress?: FieldMatcher<string | null>;
}

const INPUT_KEYS: ReadonlySet<string> = new Set(['userId', 'clientAddress', 'type', 'name', 'connectionId']);

/** RateLimiter.check's reply. */
export interface RateLimitResult {
  allowed: boolean;
  /** Milliseconds until the deciding rule's window restarts (0 when no rule matched). */
  timeToReset: number;
  /** Calls left in the window (Infinity when no rule matched, 0 when not allowed). */
  numInvocationsLeft: number;
  ruleId?: string;
}

export type RateLimitCallback = (reply: RateLimitResult, input: RateLimitInput) => void;

/** What `printRules()` shows of a rule (Meteor returns its Rule objects). */
export interface RateLimitRuleInfo {
  id: string;
  options: { numRequestsAllowed: number; intervalTime: number; callback?: RateLimitCallback };
  matchers: RateLimitMatcher;
  lastResetTime: number;
  counters: Record<string, number>;
}

// rate-limit.js: DEFAULT_REQUESTS_PER_INTERVAL, DEFAULT_INTERVAL_TIME_IN_MILLISECONDS.
export const DEFAULT_REQUESTS_PER_INTERVAL = 10;
export const DEFAULT_INTERVAL_TIME_IN_MILLISECONDS = 1000;

interface Rule {
  readonly id: string;
  readonly numRequestsAllowed: number;
  readonly intervalTime: number;
  readonly callback: RateLimitCallback | undefined;
  readonly matchers: RateLimitMatcher;
  /** The matcher's non-null entries, in the matcher's order: they match and key the input. */
  readonly tests: ReadonlyArray<readonly [keyof RateLimitInput, unknown]>;
  lastResetTime: number;
  counters: Map<BucketKey, number>;
}

/** A one-key rule is keyed by the raw value (no allocation); others by a JSON array of values. */
type BucketKey = string | null;

export interface RateLimiterOptions {
  now?: () => number;
  newId?: () => string;
  /** A rule's callback threw; Meteor logs it and carries on. */
  onCallbackError?: (error: unknown, ruleId: string) => void;
}

export class RateLimiter {
  private readonly rules = new Map<string, Rule>();
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly onCallbackError: (error: unknown, ruleId: string) => void;

  constructor(options: RateLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? (() => randomId());
    this.onCallbackError = options.onCallbackError ?? (() => {});
  }

  get ruleCount(): number {
    return this.rules.size;
  }

  /** Buckets held over all rules (what an attacker could try to grow). */
  get counterCount(): number {
    let total = 0;
    for (const rule of this.rules.values()) total += rule.counters.size;
    return total;
  }

  /** Meteor's defaults apply to a falsy count or interval (`numRequests || 10`, `intervalTime || 1000`). */
  addRule(matcher: RateLimitMatcher, numRequestsAllowed?: number, intervalTime?: number, callback?: RateLimitCallback): string {
    if (typeof matcher !== 'object' || matcher === null) throw new TypeError('A rate limit matcher must be an object');
    for (const key of Object.keys(matcher)) {
      if (!INPUT_KEYS.has(key)) throw new TypeError(`Unknown rate limit matcher key '${key}' (use ${[...INPUT_KEYS].join(', ')})`);
    }
    const count = numRequestsAllowed || DEFAULT_REQUESTS_PER_INTERVAL;
    const interval = intervalTime || DEFAULT_INTERVAL_TIME_IN_MILLISECONDS;
    if (!Number.isFinite(count) || count < 0) throw new TypeError(`numRequests must be a positive number, got ${numRequestsAllowed}`);
    if (!Number.isFinite(interval) || interval < 0) throw new TypeError(`timeInterval must be a positive number of ms, got ${intervalTime}`);
    if (callback !== undefined && typeof callback !== 'function') throw new TypeError('A rate limit callback must be a function');
    const id = this.newId();
    this.rules.set(id, {
      id,
      numRequestsAllowed: count,
      intervalTime: interval,
      callback,
      matchers: { ...matcher },
      tests: Object.entries(matcher).filter(([, m]) => m !== null) as Array<[keyof RateLimitInput, unknown]>,
      lastResetTime: this.now(),
      counters: new Map(),
    });
    return id;
  }

  removeRule(id: string): boolean {
    return this.rules.delete(id);
  }

  /** Count the input in every rule it matches (rate-limit.js `increment`). */
  increment(input: RateLimitInput): void {
    this.evaluate(input, true, false);
  }

  /**
   * Whether the input is within every rule it matches (rate-limit.js `check`):
   * allowed while each bucket holds at most `numRequests`. Not allowed: the
   * longest time to reset among the rules that refuse. Allowed: the fewest
   * invocations left, with that rule's time to reset.
   */
  check(input: RateLimitInput): RateLimitResult {
    return this.evaluate(input, false, true);
  }

  /** `increment` then `check` (what livedata_server.js does per call) in one pass: rules count independently. */
  hit(input: RateLimitInput): RateLimitResult {
    return this.evaluate(input, true, true);
  }

  private evaluate(input: RateLimitInput, count: boolean, reply: true): RateLimitResult;
  private evaluate(input: RateLimitInput, count: boolean, reply: false): void;
  private evaluate(input: RateLimitInput, count: boolean, wantReply: boolean): RateLimitResult | undefined {
    const now = this.now();
    const reply: RateLimitResult = { allowed: true, timeToReset: 0, numInvocationsLeft: Infinity };
    let withCallbacks: Rule[] | null = null;
    for (const rule of this.rules.values()) {
      const matched = matches(rule, input);
      this.expire(rule, now, matched);
      if (!matched) continue;
      const key = bucketKey(rule, input);
      let invocations = rule.counters.get(key) ?? 0;
      if (count) rule.counters.set(key, ++invocations);
      if (!wantReply) continue;
      if (rule.callback) (withCallbacks ??= []).push(rule);
      const timeToNextReset = rule.intervalTime - (now - rule.lastResetTime);
      if (invocations > rule.numRequestsAllowed) {
        if (reply.allowed || timeToNextReset > reply.timeToReset) {
          reply.timeToReset = timeToNextReset;
          reply.ruleId = rule.id;
        }
        reply.allowed = false;
        reply.numInvocationsLeft = 0;
      } else if (reply.allowed && rule.numRequestsAllowed - invocations < reply.numInvocationsLeft) {
        reply.numInvocationsLeft = rule.numRequestsAllowed - invocations;
        reply.timeToReset = timeToNextReset;
        reply.ruleId = rule.id;
      }
    }
    if (!wantReply) return;
    for (const rule of withCallbacks ?? []) {
      try {
        rule.callback!({ ...reply }, input);
      } catch (error) {
        this.onCallbackError(error, rule.id);
      }
    }
    return reply;
  }

  /** When the rule's current window started (changes each time its buckets are dropped). */
  windowStartOf(ruleId: string): number | undefined {
    return this.rules.get(ruleId)?.lastResetTime;
  }

  rulesInfo(): Record<string, RateLimitRuleInfo> {
    const info: Record<string, RateLimitRuleInfo> = {};
    for (const rule of this.rules.values()) {
      const options: RateLimitRuleInfo['options'] = { numRequestsAllowed: rule.numRequestsAllowed, intervalTime: rule.intervalTime };
      if (rule.callback) options.callback = rule.callback;
      info[rule.id] = {
        id: rule.id,
        options,
        matchers: { ...rule.matchers },
        lastResetTime: rule.lastResetTime,
        counters: Object.fromEntries([...rule.counters].map(([key, n]) => [String(key), n])),
      };
    }
    return info;
  }

  /**
   * rate-limit.js resets a rule once more than `intervalTime` has passed since
   * its last reset, when a matching input arrives. Buckets of a run-out window
   * are dropped on any input (memory follows the last window's traffic); the
   * new window still starts at the next matching input, as in Meteor.
   */
  private expire(rule: Rule, now: number, matched: boolean): void {
    if (now - rule.lastResetTime <= rule.intervalTime) return;
    if (rule.counters.size > 0) rule.counters = new Map();
    if (matched) rule.lastResetTime = now;
  }
}

function matches(rule: Rule, input: RateLimitInput): boolean {
  for (const [key, matcher] of rule.tests) {
    const value = input[key];
    if (typeof matcher === 'function') {
      if (!(matcher as (value: unknown) => unknown)(value)) return false;
    } else if (matcher !== value) {
      return false;
    }
  }
  return true;
}

/** The bucket: the input's values for the matcher's non-null keys (the keys are fixed per rule). */
function bucketKey(rule: Rule, input: RateLimitInput): BucketKey {
  if (rule.tests.length === 1) return input[rule.tests[0]![0]];
  return JSON.stringify(rule.tests.map(([key]) => input[key]));
}

// ---- ddp-rate-limiter ------------------------------------------------------

export type RateLimitErrorMessage = string | ((result: RateLimitResult) => string);

/** The `DDPRateLimiter` object of Meteor's ddp-rate-limiter package. */
export interface DDPRateLimiterApi {
  addRule(matcher: RateLimitMatcher, numRequests?: number, timeInterval?: number, callback?: RateLimitCallback): string;
  removeRule(id: string): boolean;
  setErrorMessage(message: RateLimitErrorMessage): void;
  setErrorMessageOnRule(ruleId: string, message: RateLimitErrorMessage): void;
  getErrorMessage(result: RateLimitResult): string;
  printRules(): Record<string, RateLimitRuleInfo>;
}

/** ddp-rate-limiter.js's default message, word for word. */
export function defaultRateLimitErrorMessage(result: Pick<RateLimitResult, 'timeToReset'>): string {
  return (
    'Error, too many requests. Please slow down. You must wait ' +
    `${Math.ceil(result.timeToReset / 1000)} seconds before trying again.`
  );
}

export interface DdpRateLimiterOptions {
  log: Logger;
  now?: () => number;
  newId?: () => string;
}

/** Who is calling: the session's connection handle has both. */
export interface RateLimitCaller {
  readonly id: string;
  readonly clientAddress: string | null;
}

/**
 * One per DDP server: the rules, the error, and what was limited.
 * `limit()` is livedata_server.js's `_increment` then `_check` for a
 * `method` or `sub` whose handler exists; the session sends the error it returns.
 */
export class DdpRateLimiter {
  readonly api: DDPRateLimiterApi;
  private readonly limiter: RateLimiter;
  private readonly log: Logger;
  private errorMessage: RateLimitErrorMessage = defaultRateLimitErrorMessage;
  private readonly messageByRule = new Map<string, RateLimitErrorMessage>();
  /** Names are registered handlers only (checked after the lookup), so these stay small. */
  private readonly limited: Record<RateLimitType, Map<string, number>> = { method: new Map(), subscription: new Map() };
  /** Per rule: the window last logged, and refusals since that log line. */
  private readonly logged = new Map<string, { window: number; suppressed: number }>();

  constructor(options: DdpRateLimiterOptions) {
    this.log = options.log;
    this.limiter = new RateLimiter({
      now: options.now,
      newId: options.newId,
      onCallbackError: (error, ruleId) => this.log.error('Rate limit rule callback failed', { rule: ruleId, error }),
    });
    this.api = {
      addRule: (matcher, numRequests, timeInterval, callback) => this.limiter.addRule(matcher, numRequests, timeInterval, callback),
      removeRule: (id) => {
        this.messageByRule.delete(id);
        this.logged.delete(id);
        return this.limiter.removeRule(id);
      },
      setErrorMessage: (message) => {
        this.errorMessage = message;
      },
      setErrorMessageOnRule: (ruleId, message) => {
        this.messageByRule.set(ruleId, message);
      },
      getErrorMessage: (result) => this.messageFor(result),
      printRules: () => this.limiter.rulesInfo(),
    };
  }

  /** Calls refused so far, by type and then name. */
  get rateLimitedCount(): { readonly method: ReadonlyMap<string, number>; readonly subscription: ReadonlyMap<string, number> } {
    return this.limited;
  }

  /** Buckets held (for tests and metrics). */
  get counterCount(): number {
    return this.limiter.counterCount;
  }

  /** Count this call; the error to send if it is over a limit, else null. */
  limit(type: RateLimitType, name: string, caller: RateLimitCaller, userId: string | null = null): MeteorError | null {
    if (this.limiter.ruleCount === 0) return null;
    // livedata_server.js builds the input in this key order.
    const input: RateLimitInput = { userId, clientAddress: caller.clientAddress, type, name, connectionId: caller.id };
    const result = this.limiter.hit(input);
    if (result.allowed) return null;
    const byName = this.limited[type];
    byName.set(name, (byName.get(name) ?? 0) + 1);
    this.logRefusal(result, input);
    // livedata_server.js: new Meteor.Error('too-many-requests', getErrorMessage(result), {timeToReset}).
    return DdpErrors.tooManyRequests(this.messageFor(result), result.timeToReset);
  }

  /** ddp-rate-limiter.js getErrorMessage: the rule's own message, else the global one. */
  private messageFor(result: RateLimitResult): string {
    const message = (result.ruleId !== undefined && this.messageByRule.get(result.ruleId)) || this.errorMessage;
    if (typeof message !== 'function') return message;
    try {
      return message(result);
    } catch (error) {
      this.log.error('Rate limit error message function failed; using the default', { rule: result.ruleId, error });
      return defaultRateLimitErrorMessage(result);
    }
  }

  /** One line per rule per window, with how many refusals went unlogged since the last. */
  private logRefusal(result: RateLimitResult, input: RateLimitInput): void {
    const ruleId = result.ruleId!;
    const window = this.limiter.windowStartOf(ruleId) ?? 0;
    const state = this.logged.get(ruleId);
    if (state && state.window === window) {
      state.suppressed++;
      return;
    }
    this.logged.set(ruleId, { window, suppressed: 0 });
    this.log.warn('Rate limit exceeded', {
      session: input.connectionId,
      clientAddress: input.clientAddress,
      type: input.type,
      name: input.name,
      rule: ruleId,
      timeToReset: result.timeToReset,
      ...(state && state.suppressed > 0 ? { suppressedBefore: state.suppressed } : {}),
    });
  }
}
