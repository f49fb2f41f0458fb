import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_MONITOR_TOKEN_LENGTH } from '../app/permission-policy';
import { randomId } from '../ddp/random-id';
import type { DdpServerOptions } from '../ddp/options';
import type { LogFormat, LogLevel } from '../log/logger';
import type { MqttBridgeOptions } from '../mqtt/mqtt-bridge';
import type { RemoteStateLimits } from '../mqtt/remote-state';
import { checkInstanceId, checkInteger, checkLogFormat, checkLogLevel, ConfigError, INTEGER_SETTINGS, parseCommandLine, readBoolean, readInteger, type IntegerSetting } from './validate';
import { isPlainObject } from '../common/is-plain-object';

/**
 * The only place that reads `process.env` (and the command line). Everything
 * else receives a typed Config. Variable names follow Meteor where Meteor
 * defines them (PORT, BIND_IP, ROOT_URL, HTTP_FORWARDED_COUNT, METEOR_SETTINGS,
 * MONGO_URL); the README's configuration table lists them all.
 *
 * Example: `const config = loadConfig()` or, in tests,
 * `loadConfig({ PORT: '0' }, [])`.
 */
/**
 * The MQTT bridge's options as configuration sets them: the connection
 * (MQTT_URL, MQTT_USERNAME, MQTT_PASSWORD, MQTT_TOPIC_PREFIX, MQTT_KEEPALIVE)
 * and whichever of its limits were given: MQTT_MAX_PACKET_BYTES,
 * MQTT_REMOTE_RECORDS (`on-demand` → recordsOnDemand true, `always` → false),
 * MQTT_REMOTE_RECORDS_GRACE_MS, MQTT_MAX_REMOTE_RECORDS_PER_INSTANCE and
 * MQTT_MAX_REMOTE_RECORDS (remote.maxRecordsPerInstance / maxRecordsTotal).
 * The same names as MqttBridgeOptions, so the composition merges it over the
 * bridge's defaults (defaultMqttBridgeLimits) without a mapping.
 */
export type MqttConfig = Pick<MqttBridgeOptions, 'url' | 'username' | 'password' | 'topicPrefix' | 'keepaliveSeconds'> &
  Partial<Pick<MqttBridgeOptions, 'maxPacketBytes' | 'recordsOnDemand' | 'recordsGraceMs'>> & {
    remote?: Partial<Pick<RemoteStateLimits, 'maxRecordsPerInstance' | 'maxRecordsTotal'>>;
  };

/**
 * The built-in JWT login (issue 14; imports/accounts/jwt-login.ts): exactly
 * one key, an HS256 secret or an RS256/ES256 public key (PEM, read from
 * PRESENCE_JWT_PUBLIC_KEY_FILE here, so a bad path fails at start).
 */
export interface JwtConfig {
  /** PRESENCE_JWT_SECRET: the HS256 shared secret. */
  secret?: string;
  /** PRESENCE_JWT_PUBLIC_KEY_FILE's contents. */
  publicKeyPem?: string;
  publicKeyFile?: string;
  /** PRESENCE_JWT_ISSUER: the `iss` a token must carry. */
  issuer?: string;
  /** PRESENCE_JWT_AUDIENCE: the `aud` a token must carry. */
  audience?: string;
}

export interface Config {
  port: number;
  bindIp: string;
  rootUrl: string;
  settings: Record<string, unknown>;
  logLevel: LogLevel;
  /** LOG_FORMAT: `json` lines (default when stderr is not a terminal) or `pretty`. */
  logFormat: LogFormat;
  /** LOG_CONNECTIONS: the per-connection "Client connected/disconnected" info lines (default true). */
  logConnections: boolean;
  /** DRAIN_MS: on SIGTERM/SIGINT, sessions are closed spread over this long, then the process exits (README "Health and shutdown"). */
  drainMs: number;
  ddp: Partial<DdpServerOptions>;
  mongoUrl?: string;
  mqtt?: MqttConfig;
  /** Bearer token for GET /metrics (METRICS_TOKEN); absent, /metrics answers 404 (README "Metrics"). */
  metricsToken?: string;
  presence: {
    instanceId: string;
    monitorToken?: string;
  };
  /** Absent: no JWT login (the `login` method answers "Unrecognized options for login request"). */
  jwt?: JwtConfig;
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, argv: readonly string[] = process.argv.slice(2)): Config {
  const port = integer(env, 'PORT', 3000);
  const rootUrl = env.ROOT_URL || `http://localhost:${port}`;
  const settings = loadSettings(env, argv);
  const presenceSettings = settingsObject(settings, 'presence');
  return {
    port,
    bindIp: env.BIND_IP || '0.0.0.0',
    rootUrl,
    settings,
    logLevel: checkLogLevel(env.LOG_LEVEL),
    logFormat: checkLogFormat(env.LOG_FORMAT, process.stderr.isTTY === true),
    logConnections: readBoolean(env, 'LOG_CONNECTIONS', true),
    // Default 10 s: well inside Kubernetes' 30 s terminationGracePeriodSeconds, with the bridge's 2 s goodbye after it.
    drainMs: nonNegativeInteger(env, 'DRAIN_MS') ?? 10_000,
    ddp: {
      pathPrefix: rootPathPrefix(rootUrl),
      httpForwardedCount: integer(env, 'HTTP_FORWARDED_COUNT', 0),
      maxFrameBytes: optionalInteger(env, 'DDP_MAX_FRAME_BYTES'),
      heartbeatIntervalMs: optionalInteger(env, 'DDP_HEARTBEAT_INTERVAL_MS'),
      heartbeatTimeoutMs: optionalInteger(env, 'DDP_HEARTBEAT_TIMEOUT_MS'),
      maxQueuedMessagesPerSession: optionalInteger(env, 'DDP_MAX_QUEUED_MESSAGES'),
      maxQueuedBytesPerSession: optionalInteger(env, 'DDP_MAX_QUEUED_BYTES'),
      maxPendingMethodsPerSession: optionalInteger(env, 'DDP_MAX_PENDING_METHODS'),
      maxSubscriptionsPerSession: optionalInteger(env, 'DDP_MAX_SUBSCRIPTIONS'),
      maxBufferedBytesPerSocket: optionalInteger(env, 'DDP_MAX_BUFFERED_BYTES'),
      connectDeadlineMs: optionalInteger(env, 'DDP_CONNECT_DEADLINE_MS'),
      maxSockets: optionalInteger(env, 'DDP_MAX_SOCKETS'),
      maxPendingSocketsPerAddress: optionalInteger(env, 'DDP_MAX_PENDING_SOCKETS_PER_ADDRESS'),
      maxSessionsPerAddress: optionalInteger(env, 'DDP_MAX_SESSIONS_PER_ADDRESS'),
      maxInboundBytesPerSecondPerAddress: optionalInteger(env, 'DDP_MAX_INBOUND_BYTES_PER_SECOND_PER_ADDRESS'),
      inboundBurstBytesPerAddress: optionalInteger(env, 'DDP_INBOUND_BURST_BYTES_PER_ADDRESS'),
      allowedOrigins: env.DDP_ALLOWED_ORIGINS
        ? env.DDP_ALLOWED_ORIGINS.split(',').map((origin) => origin.trim().toLowerCase()).filter(Boolean)
        : undefined,
    },
    mongoUrl: env.MONGO_URL || undefined,
    mqtt: mqttConfig(env, settingsObject(presenceSettings, 'mqtt')),
    jwt: jwtConfig(env, settingsObject(presenceSettings, 'jwt')),
    metricsToken: env.METRICS_TOKEN || undefined,
    presence: {
      instanceId: instanceId(env, presenceSettings, port),
      monitorToken: monitorToken(env, presenceSettings),
    },
  };
}

/**
 * The bridge is on when MQTT_URL or `settings.presence.mqtt.url` is set (so a
 * Meteor deployment can configure it in its settings file); each environment
 * variable wins over its settings key, as PRESENCE_MONITOR_TOKEN does.
 */
function mqttConfig(env: Env, settings: Record<string, unknown>): MqttConfig | undefined {
  const text = (name: string, key: string) => env[name] || (typeof settings[key] === 'string' && settings[key]) || undefined;
  const url = text('MQTT_URL', 'url');
  if (!url) return undefined;
  const keepalive = settings.keepaliveSeconds;
  if (keepalive !== undefined) checkInteger('MQTT_KEEPALIVE', keepalive, 'settings.presence.mqtt.keepaliveSeconds');
  const config: MqttConfig = {
    url,
    username: text('MQTT_USERNAME', 'username'),
    password: text('MQTT_PASSWORD', 'password'),
    topicPrefix: text('MQTT_TOPIC_PREFIX', 'topicPrefix') || 'presence',
    keepaliveSeconds: integer(env, 'MQTT_KEEPALIVE', (keepalive as number | undefined) ?? 30),
  };
  // Limits are set only when given: absent, the bridge's own defaults apply.
  const maxPacketBytes = positiveInteger(env, 'MQTT_MAX_PACKET_BYTES');
  if (maxPacketBytes !== undefined) config.maxPacketBytes = maxPacketBytes;
  const maxRecordsPerInstance = positiveInteger(env, 'MQTT_MAX_REMOTE_RECORDS_PER_INSTANCE');
  const maxRecordsTotal = positiveInteger(env, 'MQTT_MAX_REMOTE_RECORDS');
  if (maxRecordsPerInstance !== undefined || maxRecordsTotal !== undefined) {
    config.remote = {};
    if (maxRecordsPerInstance !== undefined) config.remote.maxRecordsPerInstance = maxRecordsPerInstance;
    if (maxRecordsTotal !== undefined) config.remote.maxRecordsTotal = maxRecordsTotal;
  }
  const remoteRecords = env.MQTT_REMOTE_RECORDS;
  if (remoteRecords !== undefined && remoteRecords !== '') {
    if (remoteRecords !== 'on-demand' && remoteRecords !== 'always') throw new ConfigError(`MQTT_REMOTE_RECORDS must be 'on-demand' or 'always', got '${remoteRecords}'`);
    config.recordsOnDemand = remoteRecords === 'on-demand';
  }
  const graceMs = optionalInteger(env, 'MQTT_REMOTE_RECORDS_GRACE_MS');
  if (graceMs !== undefined) config.recordsGraceMs = graceMs;
  return config;
}

/** PRESENCE_MONITOR_TOKEN, else settings.presence.monitorToken; one longer than any offered token may be could never match. */
function monitorToken(env: Env, presenceSettings: Record<string, unknown>): string | undefined {
  const token = env.PRESENCE_MONITOR_TOKEN || (typeof presenceSettings.monitorToken === 'string' && presenceSettings.monitorToken) || undefined;
  if (token !== undefined && token.length > MAX_MONITOR_TOKEN_LENGTH) {
    throw new ConfigError(`PRESENCE_MONITOR_TOKEN is ${token.length} characters; at most ${MAX_MONITOR_TOKEN_LENGTH} (a longer one could never match)`);
  }
  return token;
}

/** JWT login is on when a secret or a public key file is given (environment first, then settings.presence.jwt). */
function jwtConfig(env: Env, settings: Record<string, unknown>): JwtConfig | undefined {
  const text = (name: string, key: string) => env[name] || (typeof settings[key] === 'string' && settings[key]) || undefined;
  const secret = text('PRESENCE_JWT_SECRET', 'secret');
  const publicKeyFile = text('PRESENCE_JWT_PUBLIC_KEY_FILE', 'publicKeyFile');
  if (!secret && !publicKeyFile) return undefined;
  if (secret && publicKeyFile) throw new ConfigError('PRESENCE_JWT_SECRET and PRESENCE_JWT_PUBLIC_KEY_FILE are both set: give one key');
  const config: JwtConfig = { issuer: text('PRESENCE_JWT_ISSUER', 'issuer'), audience: text('PRESENCE_JWT_AUDIENCE', 'audience') };
  if (secret) {
    // RFC 7518 §3.2: an HS256 key must be at least as long as the hash (32 bytes).
    if (Buffer.byteLength(secret) < 32) throw new ConfigError('PRESENCE_JWT_SECRET must be at least 32 bytes (RFC 7518 §3.2)');
    config.secret = secret;
  } else {
    try {
      config.publicKeyPem = readFileSync(publicKeyFile!, 'utf8');
    } catch (error) {
      throw new ConfigError(`PRESENCE_JWT_PUBLIC_KEY_FILE ${publicKeyFile}: ${(error as Error).message}`);
    }
    config.publicKeyFile = publicKeyFile;
  }
  return config;
}

/** `parent[key]` when it is a plain object, else {} (settings are user-written JSON). */
function settingsObject(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = parent[key];
  return isPlainObject(value) ? value : {};
}

/** METEOR_SETTINGS (JSON) wins, as in Meteor; else `--settings <file>`; else {}. */
function loadSettings(env: Env, argv: readonly string[]): Record<string, unknown> {
  // Parsed even when METEOR_SETTINGS wins, so a mistyped flag always fails.
  const { settingsFile } = parseCommandLine(argv);
  if (env.METEOR_SETTINGS) return parseSettings(env.METEOR_SETTINGS, 'METEOR_SETTINGS');
  if (settingsFile === undefined) return {};
  let text: string;
  try {
    text = readFileSync(settingsFile, 'utf8');
  } catch (error) {
    throw new ConfigError(`--settings ${settingsFile}: ${(error as Error).message}`);
  }
  return parseSettings(text, settingsFile);
}

function parseSettings(text: string, source: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Settings in ${source} are not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`Settings in ${source} must be a JSON object`);
  return parsed;
}

/** Meteor serves DDP under ROOT_URL's path: ROOT_URL=http://x/app → /app/websocket. */
function rootPathPrefix(rootUrl: string): string {
  const path = new URL(rootUrl).pathname.replace(/\/+$/, '');
  return path === '/' ? '' : path;
}

/**
 * Stable across restarts on this machine, so a restarted instance recognises
 * (and clears) its own stale records: kept in `<stateDir>/instance-id-<port>`.
 * Port 0 (tests) gets a fresh id each time.
 */
function stableInstanceId(stateDir: string, port: number): string {
  if (port === 0) return randomId();
  const file = join(stateDir, `instance-id-${port}`);
  if (existsSync(file)) {
    const saved = readFileSync(file, 'utf8').trim();
    if (saved) return saved;
  }
  const id = randomId();
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, id + '\n');
  return id;
}

function integer(env: Env, name: string, fallback: number): number {
  return optionalInteger(env, name) ?? fallback;
}

/** Every numeric variable has a range in validate.ts (INTEGER_SETTINGS); one without is a bug here, not a user's mistake. */
function optionalInteger(env: Env, name: string): number | undefined {
  if (!(name in INTEGER_SETTINGS)) throw new Error(`${name} has no range in INTEGER_SETTINGS (imports/config/validate.ts)`);
  return readInteger(env, name as IntegerSetting);
}

function nonNegativeInteger(env: Env, name: string): number | undefined {
  const value = optionalInteger(env, name);
  if (value !== undefined && value < 0) throw new Error(`${name} must be a non-negative integer, got '${env[name]}'`);
  return value;
}

function positiveInteger(env: Env, name: string): number | undefined {
  const value = optionalInteger(env, name);
  if (value !== undefined && value < 1) throw new Error(`${name} must be a positive integer, got '${env[name]}'`);
  return value;
}

/** PRESENCE_INSTANCE_ID, else settings.presence.instanceId, else one kept in PRESENCE_STATE_DIR; a given id must be a topic segment. */
function instanceId(env: Env, presenceSettings: Record<string, unknown>, port: number): string {
  if (env.PRESENCE_INSTANCE_ID) return checkInstanceId(env.PRESENCE_INSTANCE_ID, 'PRESENCE_INSTANCE_ID');
  const fromSettings = presenceSettings.instanceId;
  if (typeof fromSettings === 'string' && fromSettings) return checkInstanceId(fromSettings, 'settings.presence.instanceId');
  return stableInstanceId(env.PRESENCE_STATE_DIR || '.presence', port);
}
