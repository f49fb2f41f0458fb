import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { createJwtLoginHandler } from '../accounts/jwt-login';
import type { LoginHandler } from '../accounts/login-handler';
import { registerStandaloneAccounts } from '../accounts/standalone-accounts';
import type { PeoplePolicy } from '../app/permission-policy';
import type { ConnectedUser } from '../app/host';
import type { PresencePolicy } from '../app/permission-policy';
import { PRESENCE_NAMES, type PresenceApp } from '../app/presence';
import type { PresenceRateLimits } from '../app/rate-limits';
import { composePresence, type ComposedPresence } from '../composition/compose-presence';
import type { Config } from '../config/config';
import { DdpServer } from '../ddp/ddp-server';
import { createMeteorFacade, type StandaloneMeteor } from '../ddp/meteor-facade';
import { createLogger, type Logger } from '../log/logger';
import type { MqttBridge } from '../mqtt/mqtt-bridge';
import type { StoreCollection } from '../store/collection';
import { MemoryCollection } from '../store/memory-collection';
import { MongoCollection } from '../store/mongo-collection';
import { healthRoutes } from './health-routes';
import { readiness, type Readiness } from './readiness';
import { drainSessions, defaultSessionDrainOptions } from './session-drain';
import { staticFiles } from './static-files';
import { accountEventsOf } from './user-id-account-events';
import { metricsRoute } from '../metrics/metrics-endpoint';
import { defaultMetricsOptions } from '../metrics/metrics-options';
import { createServerMetrics } from '../metrics/metrics-registry';

/**
 * Everything `npm start` runs, as one function the tests and the benchmark
 * call too: config → store → DDP server → presence (composePresence, the
 * same composition Meteor mode uses: app, rate limits, MQTT bridge when
 * MQTT_URL is set, bridge status) → static files.
 */
export interface StandaloneApp {
  config: Config;
  url: string;
  port: number;
  http: Server;
  ddp: DdpServer;
  meteor: StandaloneMeteor;
  collection: StoreCollection<ConnectedUser>;
  presence: PresenceApp | null;
  bridge: MqttBridge | null;
  log: Logger;
  /** What /readyz answers (readiness.ts). */
  readiness(): Readiness;
  /** Graceful shutdown (SIGTERM): unready, announce draining, refuse new sockets, close sessions over `config.drainMs`, then `close()`. */
  drain(): Promise<void>;
  /** Immediate shutdown (tests): the bridge's goodbye, then every session and socket at once. */
  close(): Promise<void>;
}

export interface StandaloneOverrides {
  log?: Logger;
  /** Share one store between app instances (tests of multi-instance behaviour). */
  collection?: StoreCollection<ConnectedUser>;
  policy?: PresencePolicy;
  /** false runs the bare DDP server (the benchmark's "presence off" case). */
  presence?: boolean;
  /** The app's rate limits by name, over its defaults (null: no rule for that name); false registers none. */
  rateLimits?: Partial<PresenceRateLimits> | false;
  staticRoot?: string;
  /** Login handlers tried before the JWT one (if configured); with any, the `login` and `logout` methods exist. */
  loginHandlers?: LoginHandler[];
  peoplePolicy?: PeoplePolicy;
}


const CONNECTED_USERS_COLLECTION = PRESENCE_NAMES.collection;
/** client/dist of this project, found from wherever this module runs (sources via tsx, or the dist/ bundle). */
function defaultStaticRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'client', 'dist');
}

export async function startStandaloneApp(config: Config, overrides: StandaloneOverrides = {}): Promise<StandaloneApp> {
  const log = overrides.log ?? createLogger(config.logLevel, undefined, { format: config.logFormat });
  const cleanups: Array<() => Promise<void> | void> = [];

  let collection = overrides.collection;
  if (!collection && config.mongoUrl) {
    const client = await MongoClient.connect(config.mongoUrl);
    cleanups.push(() => client.close());
    const mongo = new MongoCollection<ConnectedUser>(client.db(), CONNECTED_USERS_COLLECTION, log);
    await mongo.ensureIndex('instanceId');
    collection = mongo;
    log.info('Store: MongoDB', { collection: CONNECTED_USERS_COLLECTION });
  }
  collection ??= new MemoryCollection<ConnectedUser>(CONNECTED_USERS_COLLECTION, log);

  const ddp = new DdpServer(config.ddp, log);
  const meteor = createMeteorFacade(ddp, config.settings, log);
  const composed: ComposedPresence | null = overrides.presence === false
    ? null
    : composePresence(meteor, collection, {
        config,
        log,
        rateLimiter: meteor.DDPRateLimiter,
        policy: overrides.policy,
        rateLimits: overrides.rateLimits,
        // "The connection's user": every userId change, whoever makes it (login, logout, expiry, an app's own method).
        accounts: accountEventsOf(ddp),
        peoplePolicy: overrides.peoplePolicy,
      });
  const loginHandlers = [...(overrides.loginHandlers ?? []), ...(config.jwt ? [createJwtLoginHandler({ ...config.jwt, log })] : [])];
  if (loginHandlers.length > 0) {
    // With Meteor's accounts-base rate limit on `login` (5 per 10 s per connection), unless rate limits are off.
    const accounts = registerStandaloneAccounts(ddp, { handlers: loginHandlers, log, loginRateLimit: overrides.rateLimits === false ? null : undefined });
    cleanups.push(() => accounts.stop());
  }
  const presence = composed?.presence ?? null;
  const bridge = composed?.bridge ?? null;
  // Runs the stale-record cleanup, then starts the bridge (from its own startup callback).
  await meteor.runStartup();
  let storeReady = !presence;
  presence?.started.then(() => (storeReady = true), () => {});

  const http = createServer();
  const probe = (): Readiness => readiness({
    listening: http.listening,
    storeReady,
    mqtt: bridge ? (bridge.status().connected ? 'connected' : 'disconnected') : 'not configured',
    draining: ddp.isDraining,
  });
  // /metrics only with METRICS_TOKEN (README "Metrics"); its registry is this instance's alone.
  const metrics = config.metricsToken ? { server: createServerMetrics({ ddp, presence, bridge }), token: config.metricsToken } : null;
  if (metrics) cleanups.push(() => metrics.server.stop());
  ddp.attach(http, metricsRoute(metrics, defaultMetricsOptions.path, healthRoutes(probe, staticFiles(overrides.staticRoot ?? defaultStaticRoot(), config.ddp.pathPrefix, { log }), config.ddp.pathPrefix)));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.bindIp, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const host = config.bindIp === '0.0.0.0' || config.bindIp === '::' ? '127.0.0.1' : config.bindIp;
  const url = `http://${host}:${port}`;
  log.info('Listening', { url, instanceId: config.presence.instanceId });

  const app: StandaloneApp = {
    config, url, port, http, ddp, meteor, collection, presence, bridge, log,
    readiness: probe,
    async drain() {
      ddp.stopAccepting(); // /readyz turns 503 with it
      // Not awaited: mqtt.js writes packets in order, so the status goes out before the first record
      // clear, and a slow broker cannot eat into the drain (the bridge's stop bounds what is left).
      void bridge?.announceDraining();
      const result = await drainSessions(ddp, { ...defaultSessionDrainOptions, drainMs: config.drainMs });
      log.info('Sessions drained', { ...result });
      await app.close();
    },
    async close() {
      // Bridge first: others drop our records at once, and our retained records are cleared.
      await composed?.stop();
      ddp.close();
      await presence?.settled();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
  return app;
}
