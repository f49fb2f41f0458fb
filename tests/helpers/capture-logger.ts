import { createLogger, type LineLevel, type Logger } from '../../imports/log/logger';

/** One logged event as the code under test emitted it, before any formatting. */
export interface LogRecord {
  level: LineLevel;
  message: string;
  context: Record<string, unknown> | undefined;
}

/** What to look for: every given part must match; `context` matches each given key by equality. */
export interface LogQuery {
  level?: LineLevel;
  message?: string | RegExp;
  context?: Record<string, unknown>;
}

export interface CapturedLogs {
  log: Logger;
  /** The events, structured: assert on these (`matching`), not on the text. */
  logs: LogRecord[];
  /** The formatted lines, for the tests of the line format itself and for failure messages. */
  logLines: string[];
}

/**
 * A debug-level logger whose events tests can assert on. Set DEBUG_TEST_LOGS=1
 * in your shell to also see them live.
 *
 * Why structured records: a test that matches log text breaks when a line's
 * wording or format changes, and `includes('WARN')` also matches a message
 * that merely mentions the word. `matching(logs, { level: 'warn', message:
 * /inbound queue overflow/, context: { session } })` says what it means.
 */
export function captureLogger(): CapturedLogs {
  const logs: LogRecord[] = [];
  const logLines: string[] = [];
  const lines = createLogger('debug', (_level, line) => {
    logLines.push(line);
    if (process.env.DEBUG_TEST_LOGS) process.stderr.write(line + '\n');
  });
  const record =
    (level: LineLevel) =>
    (message: string, context?: Record<string, unknown>): void => {
      logs.push({ level, message, context });
      lines[level](message, context);
    };
  const log: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  return { log, logs, logLines };
}

/** The records that match every part of `query`. */
export function matching(logs: readonly LogRecord[], query: LogQuery): LogRecord[] {
  return logs.filter((entry) => {
    if (query.level !== undefined && entry.level !== query.level) return false;
    if (query.message !== undefined) {
      const hit = typeof query.message === 'string' ? entry.message.includes(query.message) : query.message.test(entry.message);
      if (!hit) return false;
    }
    for (const [key, value] of Object.entries(query.context ?? {})) {
      if (entry.context?.[key] !== value) return false;
    }
    return true;
  });
}

/** For assertion messages: the captured events, one per line. */
export function describeLogs(logs: readonly LogRecord[]): string {
  return logs.map((entry) => `${entry.level} ${entry.message} ${entry.context ? JSON.stringify(entry.context) : ''}`).join('\n');
}
