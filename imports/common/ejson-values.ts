import EJSON from 'ejson';

/**
 * EJSON for values whose type the caller does not know statically (merge-box
 * fields, stored documents, method params): @types/ejson types its
 * arguments as EJSON-able shapes, which an `unknown` is not, so every call
 * needed an `as never`. The cast lives here, once.
 *
 * Example: `if (!ejsonEquals(before, after)) changed[key] = ejsonClone(after);`
 * Caveat: nothing is checked at run time; the values are EJSON because they
 * came from EJSON (the wire, a store), as before.
 */
export function ejsonClone<T>(value: T): T {
  return EJSON.clone(value as never) as T;
}

export function ejsonEquals(a: unknown, b: unknown): boolean {
  return EJSON.equals(a as never, b as never);
}

export function ejsonToJSONValue(value: unknown): unknown {
  return EJSON.toJSONValue(value as never);
}

export function ejsonStringify(value: unknown): string {
  return EJSON.stringify(value as never);
}
