import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DdpServer } from '../../imports/ddp/ddp-server';
import { createMeteorFacade, type StandaloneMeteor } from '../../imports/ddp/meteor-facade';
import type { DdpServerOptions } from '../../imports/ddp/options';
import type { Logger } from '../../imports/log/logger';
import { captureLogger, type LogRecord } from './capture-logger';

export interface TestServer {
  port: number;
  wsUrl: string;
  httpUrl: string;
  ddp: DdpServer;
  meteor: StandaloneMeteor;
  http: Server;
  log: Logger;
  /** Structured log events: assert with `matching` (capture-logger.ts). */
  logs: LogRecord[];
  logLines: string[];
  close(): Promise<void>;
}

/**
 * A real DDP server on an ephemeral port (port 0), with whatever `register`
 * adds to its Meteor facade. Log lines are captured so tests can assert on
 * them (see capture-logger.ts).
 */
export async function startTestServer(
  register: (meteor: StandaloneMeteor) => unknown = () => {},
  options: Partial<DdpServerOptions> = {},
  settings: Record<string, unknown> = {},
): Promise<TestServer> {
  const { log, logs, logLines } = captureLogger();
  // A short SockJS disconnect delay so xhr sessions' timers do not keep the test process alive for a minute.
  const ddp = new DdpServer({ sockjsDisconnectDelayMs: 300, ...options }, log);
  const meteor = createMeteorFacade(ddp, settings, log);
  await register(meteor);
  await meteor.runStartup();
  const http = createServer();
  ddp.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}/websocket`,
    httpUrl: `http://127.0.0.1:${port}`,
    ddp,
    meteor,
    http,
    log,
    logs,
    logLines,
    async close() {
      ddp.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
