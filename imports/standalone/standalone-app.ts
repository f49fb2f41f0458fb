import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
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
import { staticFiles } from './static-files';

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

export const CONNECTED_USERS_COLLECTION = PRESENCE_NAMES.collection;
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
  const composed: ComposedPresence | null = overrides.presence === false
    ? null
    : composePresence(meteor, collection, {
        config,
        log,
        rateLimiter: meteor.DDPRateLimiter,
        policy: overrides.policy,
        rateLimits: overrides.rateLimits,
      });
  const presence = composed?.presence ?? null;
  const bridge = composed?.bridge ?? null;
  // Runs the stale-record cleanup, then starts the bridge (from its own startup callback).
  await meteor.runStartup();

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
      await composed?.stop();
      ddp.close();
      await presence?.settled();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
