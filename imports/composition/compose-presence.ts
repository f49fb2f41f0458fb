import { validateConnectedUser } from '../app/connected-user-schema';
import type { AccountEvents, PresenceCollection, PresenceHost } from '../app/host';
import { tokenPolicy, type PeoplePolicy, type PresencePolicy } from '../app/permission-policy';
import { registerPresence, type PresenceApp } from '../app/presence';
import { registerPresenceRateLimits, type PresenceRateLimits, type RateLimitRegistry } from '../app/rate-limits';
import type { RemoteRecords } from '../app/remote-records';
import type { Config, MqttConfig } from '../config/config';
import type { Logger } from '../log/logger';
import { defaultMqttBridgeLimits, MqttBridge, type MqttBridgeOptions } from '../mqtt/mqtt-bridge';
import type { Document, StoreCollection } from '../store/collection';
import { publishBridgeStatus } from './bridge-status-publication';

/**
 * The whole presence feature on one host, the same for both entry points
 * (`imports/standalone` and `server/main.ts`): the permission policy, the
 * presence app, its default rate limits, the optional MQTT bridge feeding the
 * presence view (records) and the stats (which peers are online), and the
 * bridge-status publication.
 *
 * Why one function: Meteor mode used to register presence alone, so it had
 * no bridge (MQTT_URL was ignored) and no `presence.bridgeStatus`, which its
 * own client subscribes to (issue 10, repro 10).
 *
 * Example (Meteor mode):
 *   composePresence(Meteor, ConnectedUsers, { config: loadConfig(), log, rateLimiter: DDPRateLimiter });
 *
 * Caveats: call it before the host runs its startup callbacks; the bridge
 * starts from a startup callback once presence has cleared this instance's
 * stale records (so nothing stale is announced). `stop()` stops the stats
 * sampler and the bridge only; closing the host is the caller's business.
 */
export interface ComposePresenceOptions {
  config: Pick<Config, 'presence' | 'mqtt'> & Partial<Pick<Config, 'logConnections'>>;
  log: Logger;
  /** Meteor's `DDPRateLimiter` (package ddp-rate-limiter), or the standalone server's. */
  rateLimiter: RateLimitRegistry;
  /** Replaces the token policy (e.g. one deciding from `userId` and roles). */
  policy?: PresencePolicy;
  /** Over the app's default limits, by name (null: no rule for that name); false registers none. */
  rateLimits?: Partial<PresenceRateLimits> | false;
  /** Logins and logouts (Meteor's Accounts, or the standalone server's userId changes); absent: no people. */
  accounts?: AccountEvents;
  /** Who may see `list.onlineUsers` (default: monitors and logged-in connections). */
  peoplePolicy?: PeoplePolicy;
}

export interface ComposedPresence {
  presence: PresenceApp;
  /** Null without MQTT configuration (MQTT_URL). */
  bridge: MqttBridge | null;
  policy: PresencePolicy;
  /** Stop the stats sampler and the bridge: others drop our records at once, and our retained records are cleared. */
  stop(): Promise<void>;
}

export function composePresence(host: PresenceHost, collection: PresenceCollection, options: ComposePresenceOptions): ComposedPresence {
  const { config, log } = options;
  const { instanceId, monitorToken } = config.presence;
  if (!options.policy && !monitorToken) {
    log.warn('No PRESENCE_MONITOR_TOKEN (or settings.presence.monitorToken): nobody gets monitor rights');
  }
  const policy = options.policy ?? tokenPolicy(monitorToken);

  const bridge = config.mqtt
    ? new MqttBridge(
        bridgeOptions(config.mqtt, instanceId),
        // The bridge reads this instance's own records from the collection; both
        // a store collection and a Mongo.Collection have what it calls.
        collection as unknown as StoreCollection<Document>,
        validateConnectedUser,
        log,
      )
    : null;
  // Peers' records reach the view from the bridge's memory, never through `collection` (issue 10, repro 9).
  const remoteRecords: RemoteRecords | undefined = bridge?.remoteRecords;

  // The stats' `online` for a peer follows its status (a Will flips it at the next sample), not whether it has records.
  const isRemoteOnline = bridge ? (id: string) => bridge.isRemoteOnline(id) : undefined;

  const presence = registerPresence(host, collection, {
    instanceId,
    policy,
    log,
    logConnections: config.logConnections,
    remoteRecords,
    isRemoteOnline,
    // Counts and stats of other instances come from their summaries; their records only while a monitor looks here.
    summaries: bridge?.summaries,
    onRecordReadersChanged: bridge ? (readers) => bridge.setRecordsWanted(readers > 0) : undefined,
    onlineInstanceIds: bridge ? () => onlineIds(bridge) : undefined,
    accounts: options.accounts,
    peoplePolicy: options.peoplePolicy,
  });
  if (options.rateLimits !== false) registerPresenceRateLimits(options.rateLimiter, options.rateLimits);
  publishBridgeStatus(host, policy, bridge);
  if (bridge) {
    // Awaited rather than relying on callback order: Meteor need not await one startup callback before the next.
    host.startup(async () => {
      await presence.started;
      bridge.start();
    });
  }

  return {
    presence,
    bridge,
    policy,
    async stop() {
      presence.liveStats.stop();
      presence.liveCount.stop();
      await bridge?.stop();
    },
  };
}

function* onlineIds(bridge: MqttBridge): Iterable<string> {
  for (const summary of bridge.summaries.current()) yield summary.instanceId;
}

/** The bridge's options: its default limits, overridden by the caps the configuration names. */
function bridgeOptions(mqtt: MqttConfig, instanceId: string): MqttBridgeOptions {
  // The configuration sets only what was given (config.ts), under the bridge's own names.
  const { remote, ...given } = mqtt;
  return { ...defaultMqttBridgeLimits, ...given, instanceId, remote: { ...defaultMqttBridgeLimits.remote, ...remote } };
}
