import { loadConfig } from '../../imports/config/config';
import { captureLogger, type LogRecord } from './capture-logger';
import { startStandaloneApp, type StandaloneApp, type StandaloneOverrides } from '../../imports/standalone/standalone-app';

export const MONITOR_TOKEN = 'test-monitor-token';

export interface AppTestServer extends StandaloneApp {
  wsUrl: string;
  /** Structured log events: assert with `matching` (capture-logger.ts). */
  logs: LogRecord[];
  logLines: string[];
}

/**
 * The real standalone app (the same function `npm start` runs) on port 0,
 * with environment-style settings; log lines are captured for assertions.
 */
export async function startAppForTest(
  env: Record<string, string> = {},
  overrides: StandaloneOverrides = {},
): Promise<AppTestServer> {
  const { log, logs, logLines } = captureLogger();
  const config = loadConfig({ PORT: '0', BIND_IP: '127.0.0.1', PRESENCE_MONITOR_TOKEN: MONITOR_TOKEN, ...env }, []);
  const app = await startStandaloneApp(config, { log, ...overrides });
  return Object.assign(app, { wsUrl: app.url.replace('http', 'ws') + '/websocket', logs, logLines });
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
