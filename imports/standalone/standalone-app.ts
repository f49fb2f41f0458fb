import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import type { ConnectedUser } from '../app/host';
import { tokenPolicy, type PresencePolicy } from '../app/permission-policy';
import { registerPresence, type PresenceApp } from '../app/presence';
import { registerPresenceRateLimits, type PresenceRateLimits } from '../app/rate-limits';
import type { Config } from '../config/config';
import { DdpServer } from '../ddp/ddp-server';
import { createMeteorFacade, type StandaloneMeteor } from '../ddp/meteor-facade';
import { createLogger, type Logger } from '../log/logger';
import type { StoreCollection } from '../store/collection';
import { MemoryCollection } from '../store/memory-collection';
import { MongoCollection } from '../store/mongo-collection';
import { validateConnectedUser } from '../app/connected-user-schema';
import { defaultMqttBridgeLimits, MqttBridge } from '../mqtt/mqtt-bridge';
import type { Document } from '../store/collection';
import { publishBridgeStatus } from './bridge-status-publication';
import { staticFiles } from './static-files';

/**
 * Everything `npm start` runs, as one function the tests and the benchmark
 * call too: config → store → DDP server → presence app → MQTT bridge (when
 * MQTT_URL is set) → static files.
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
}

export const CONNECTED_USERS_COLLECTION = 'connectedUsers';
/** client/dist of this project, found from wherever this module runs (sources via tsx, or the dist/ bundle). */
function defaultStaticRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'client', 'dist');
}

export async function startStandaloneApp(config: Config, overrides: StandaloneOverrides = {}): Promise<StandaloneApp> {
  const log = overrides.log ?? createLogger(config.logLevel);
  const cleanups: Array<() => Promise<void> | void> = [];

  let collection = overrides.collection;
  if (!collection && config.mongoUrl) {
    const client = await MongoClient.connect(config.mongoUrl);
    cleanups.push(() => client.close());
    const mongo = new MongoCollection<ConnectedUser>(client.db(), CONNECTED_USERS_COLLECTION);
    await mongo.ensureIndex('instanceId');
    collection = mongo;
    log.info('Store: MongoDB', { collection: CONNECTED_USERS_COLLECTION });
  }
  collection ??= new MemoryCollection<ConnectedUser>(CONNECTED_USERS_COLLECTION, log);

  const ddp = new DdpServer(config.ddp, log);
  const meteor = createMeteorFacade(ddp, config.settings, log);
  let presence: PresenceApp | null = null;
  let bridge: MqttBridge | null = null;
  if (overrides.presence !== false) {
    if (!overrides.policy && !config.presence.monitorToken) {
      log.warn('No PRESENCE_MONITOR_TOKEN (or settings.presence.monitorToken): nobody gets monitor rights');
    }
    const policy = overrides.policy ?? tokenPolicy(config.presence.monitorToken);
    presence = registerPresence(meteor, collection, { instanceId: config.presence.instanceId, policy, log });
    if (overrides.rateLimits !== false) registerPresenceRateLimits(meteor.DDPRateLimiter, overrides.rateLimits);
    if (config.mqtt) {
      bridge = new MqttBridge(
        { ...defaultMqttBridgeLimits, ...config.mqtt, instanceId: config.presence.instanceId },
        collection as unknown as StoreCollection<Document>,
        validateConnectedUser,
        log,
      );
    }
    publishBridgeStatus(meteor, policy, bridge);
  }
  await meteor.runStartup();
  // After startup: the stale-record cleanup has run, so nothing stale is published.
  bridge?.start();

  const http = createServer();
  ddp.attach(http, staticFiles(overrides.staticRoot ?? defaultStaticRoot(), config.ddp.pathPrefix, { log }));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.bindIp, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const host = config.bindIp === '0.0.0.0' || config.bindIp === '::' ? '127.0.0.1' : config.bindIp;
  const url = `http://${host}:${port}`;
  log.info('Listening', { url, instanceId: config.presence.instanceId });

  return {
    config, url, port, http, ddp, meteor, collection, presence, bridge, log,
    async close() {
      // Bridge first: others drop our records at once, and our retained records are cleared.
      await bridge?.stop();
      ddp.close();
      await presence?.settled();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
