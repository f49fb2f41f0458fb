import { createLogger, type Logger } from '../../imports/log/logger';

/**
 * A debug-level logger whose lines tests can assert on. Set DEBUG_TEST_LOGS=1
 * in your shell to also see them live.
 */
export function captureLogger(): { log: Logger; logLines: string[] } {
  const logLines: string[] = [];
  const log = createLogger('debug', (_level, line) => {
    logLines.push(line);
    if (process.env.DEBUG_TEST_LOGS) process.stderr.write(line + '\n');
  });
  return { log, logLines };
}
