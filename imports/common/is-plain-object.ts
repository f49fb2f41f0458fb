/**
 * The one "is this a JSON object" check: an object that is neither null nor
 * an array. Every layer uses it on untrusted input (frames, settings, broker
 * payloads, method options), so it lives in imports/common, which any layer
 * may import and which imports nothing.
 *
 * Example: `if (!isPlainObject(param)) return { ok: false, reason: 'Options must be an object' };`
 * Caveat: a Date or a Map passes (they are objects); EJSON-decoded values
 * and JSON.parse output are what it is for. Meteor's `check(x, Object)` is
 * stricter (prototype must be Object's): imports/accounts keeps that one.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
