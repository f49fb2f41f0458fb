import { jsonLineFormatter } from './json-lines';
import { prettyLineFormatter } from './pretty-lines';

/**
 * One leveled logger for the whole process.
 *
 * Why: every line about a session must carry its id (`session`), and tests
 * need to silence or capture output without patching `console`.
 * Two formats (LOG_FORMAT): `json`, one JSON object per line through pino
 * (`{"level":"info","time":"…","msg":"Client connected","session":"…"}`),
 * for log shippers; `pretty`, `<time> INFO Client connected {"session":"…"}`,
 * for a person at a terminal.
 * Example: `const log = createLogger('info', undefined, { format: 'json' }); log.info('connect', { session: id })`.
 * Caveats: context values are serialised, so keep them small; without a
 * `format` the format is `pretty` (what tests match on): entry points pass
 * `config.logFormat`.
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface Logger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export type LineLevel = Exclude<LogLevel, 'silent'>;
export type LogSink = (level: LineLevel, line: string) => void;
/** Turns one event into one line (no newline, no raw control characters). */
export type LineFormatter = (level: LineLevel, message: string, context: Record<string, unknown> | undefined) => string;

export interface LoggerOptions {
  format?: LogFormat;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

const stderrSink: LogSink = (_level, line) => process.stderr.write(line + '\n');

export function createLogger(level: LogLevel = 'info', sink: LogSink = stderrSink, options: LoggerOptions = {}): Logger {
  const threshold = rank[level];
  // Entry points pass config.logFormat (LOG_FORMAT, json off a terminal); other callers keep the text lines they always had.
  const format = options.format ?? 'pretty';
  const toLine = format === 'json' ? jsonLineFormatter() : prettyLineFormatter;
  const emit = (lvl: LineLevel, message: string, context?: Record<string, unknown>) => {
    if (rank[lvl] < threshold) return;
    sink(lvl, toLine(lvl, message, context));
  };
  return {
    debug: (m, c) => emit('debug', m, c),
    info: (m, c) => emit('info', m, c),
    warn: (m, c) => emit('warn', m, c),
    error: (m, c) => emit('error', m, c),
  };
}
