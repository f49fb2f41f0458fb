import { pino } from 'pino';
import type { LineFormatter, LineLevel } from './logger';
import { safeJson, UNSERIALISABLE } from './safe-json';
import { escapeControlCharacters } from './pretty-lines';

/**
 * LOG_FORMAT=json: one object per line, rendered by pino:
 * `{"level":"warn","time":"2024-05-01T12:00:00.000Z","msg":"Client mistake: parse error","session":"a1"}`.
 * Context keys become top-level fields (so `session` is a field a log
 * shipper can index); Errors become `{message, stack}`.
 *
 * Why pino writes into a buffer, not a stream: the Logger's sink decides
 * where lines go (stderr, a test's array), and a synchronous hand-off keeps
 * lines in order with anything else the process prints.
 * Caveat: a context key named `level`, `time` or `msg` is renamed `context.<key>`,
 * so it cannot overwrite the line's own.
 */
const RESERVED = new Set(['level', 'time', 'msg']);

export function jsonLineFormatter(): LineFormatter {
  let line = '';
  const renderer = pino(
    {
      level: 'debug',
      base: null, // no pid/hostname: the platform that collects the lines knows them
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // pino's built-in `err` serializer would add `"type"` to the {message, stack} plainContext already made.
      serializers: { err: (value: unknown) => value },
    },
    { write: (chunk: string) => void (line = chunk) },
  );
  return (level: LineLevel, message: string, context?: Record<string, unknown>) => {
    renderer[level](context ? plainContext(context) : {}, message);
    const rendered = line.endsWith('\n') ? line.slice(0, -1) : line;
    line = '';
    // JSON already escapes C0 characters inside strings; DEL and U+2028/2029
    // appear only inside strings too, where a \u escape is still valid JSON.
    return rendered.replace(/[\u007f\u2028\u2029]/g, escapeControlCharacters);
  };
}

/** A context that cannot even be read (a getter that throws) is replaced, as safeJson replaces one it cannot serialise. */
function plainContext(context: Record<string, unknown>): Record<string, unknown> {
  try {
    return readContext(context);
  } catch {
    return { context: UNSERIALISABLE };
  }
}

function readContext(context: Record<string, unknown>): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) plain[RESERVED.has(key) ? `context.${key}` : key] = value;
  // Errors, BigInts and cycles go through safeJson once; the common all-strings context goes straight to pino.
  return hasSpecialValue(plain) ? (JSON.parse(safeJson(plain)) as Record<string, unknown>) : plain;
}

function hasSpecialValue(context: Record<string, unknown>): boolean {
  for (const value of Object.values(context)) {
    if (typeof value === 'bigint' || (typeof value === 'object' && value !== null)) return true;
  }
  return false;
}
