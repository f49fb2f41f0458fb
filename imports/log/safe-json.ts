/**
 * Log context as JSON: Errors as `{message, stack}` (JSON would print `{}`),
 * at any depth, BigInts as strings; a context that cannot be serialised (a
 * cycle) is replaced, never thrown: logging must not fail the caller.
 */
export const UNSERIALISABLE = '[unserialisable context]';

export function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => (v instanceof Error ? { message: v.message, stack: v.stack } : typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return JSON.stringify({ context: UNSERIALISABLE });
  }
}
