/**
 * One leveled logger for the whole process.
 *
 * Why: every line about a session must carry its id, and tests need to silence
 * or capture output without patching `console`.
 * Example: `const log = createLogger('info'); log.info('connect', { session: id })`.
 * Caveat: context values are printed with JSON.stringify, so keep them small.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogSink = (level: Exclude<LogLevel, 'silent'>, line: string) => void;

const stderrSink: LogSink = (_level, line) => process.stderr.write(line + '\n');

export function createLogger(level: LogLevel = 'info', sink: LogSink = stderrSink): Logger {
  const threshold = rank[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, message: string, context?: Record<string, unknown>) => {
    if (rank[lvl] < threshold) return;
    const suffix = context && Object.keys(context).length ? ' ' + safeJson(context) : '';
    sink(lvl, `${new Date().toISOString()} ${lvl.toUpperCase()} ${escapeControlCharacters(message + suffix)}`);
  };
  return {
    debug: (m, c) => emit('debug', m, c),
    info: (m, c) => emit('info', m, c),
    warn: (m, c) => emit('warn', m, c),
    error: (m, c) => emit('error', m, c),
  };
}

/**
 * Messages may embed client input (a sub id, a method name); escaping control
 * characters and line separators keeps one event on one line, so a client
 * cannot forge log lines. (JSON escapes the context, except U+2028/2029.)
 */
function escapeControlCharacters(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => (v instanceof Error ? { message: v.message, stack: v.stack } : v));
  } catch {
    return '[unserialisable context]';
  }
}
