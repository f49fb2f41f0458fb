import { parseArgs } from 'node:util';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log/logger';
import { isSafeTopicSegment } from '../mqtt/topics';

/**
 * The allowed values of every setting, checked before anything starts, so a
 * typo fails the deploy with one line instead of quietly changing behaviour
 * (`DDP_MAX_FRAME_BYTES=0` used to lift the WebSocket limit yet refuse a
 * 6-byte SockJS POST; `LOG_LEVEL=verbose` used to mean info).
 *
 * Example: `readInteger(env, 'DDP_MAX_SOCKETS')` → undefined | 0 | 1…10,000,000.
 * Every error is a ConfigError whose message is the single line the
 * standalone main prints: `DDP_MAX_FRAME_BYTES='0' is not allowed: an integer from 1024 to 67108864 (bytes)`.
 * Caveat: the README's configuration table mirrors INTEGER_SETTINGS; change both.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface IntegerRange {
  min: number;
  max: number;
  unit?: string;
  /** When set, 0 is also allowed and means this (e.g. 'off'); otherwise 0 is refused unless `min` is 0. */
  zero?: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const HOUR_MS = 3_600_000;

/**
 * Lower bounds sit where a smaller value breaks legitimate clients (a frame
 * cap under 1 KiB refuses Meteor's own `connect`); upper bounds where a larger
 * one is surely a typo (an extra zero) or lets one client hurt the process.
 */
export const INTEGER_SETTINGS = {
  PORT: { min: 0, max: 65_535, zero: 'any free port' },
  HTTP_FORWARDED_COUNT: { min: 0, max: 32, unit: 'proxies', zero: 'no proxy: the socket address is the client' },
  DDP_MAX_FRAME_BYTES: { min: KiB, max: 64 * MiB, unit: 'bytes' },
  DDP_HEARTBEAT_INTERVAL_MS: { min: 100, max: HOUR_MS, unit: 'ms', zero: 'no heartbeats' },
  DDP_HEARTBEAT_TIMEOUT_MS: { min: 100, max: HOUR_MS, unit: 'ms' },
  DDP_CONNECT_DEADLINE_MS: { min: 100, max: 10 * 60_000, unit: 'ms' },
  DDP_MAX_QUEUED_MESSAGES: { min: 1, max: 1_000_000, unit: 'messages' },
  DDP_MAX_QUEUED_BYTES: { min: KiB, max: GiB, unit: 'bytes' },
  DDP_MAX_PENDING_METHODS: { min: 1, max: 100_000, unit: 'methods' },
  DDP_MAX_SUBSCRIPTIONS: { min: 1, max: 100_000, unit: 'subscriptions' },
  DDP_MAX_BUFFERED_BYTES: { min: 64 * KiB, max: GiB, unit: 'bytes' },
  DDP_MAX_SOCKETS: { min: 1, max: 10_000_000, unit: 'sockets', zero: 'automatic, from the open-file limit' },
  DDP_MAX_PENDING_SOCKETS_PER_ADDRESS: { min: 1, max: 1_000_000, unit: 'sockets', zero: 'no limit' },
  DDP_MAX_SESSIONS_PER_ADDRESS: { min: 1, max: 10_000_000, unit: 'sessions', zero: 'no limit' },
  DDP_MAX_INBOUND_BYTES_PER_SECOND_PER_ADDRESS: { min: KiB, max: GiB, unit: 'bytes/s', zero: 'no limit' },
  DDP_INBOUND_BURST_BYTES_PER_ADDRESS: { min: KiB, max: GiB, unit: 'bytes' },
  DRAIN_MS: { min: 0, max: 10 * 60_000, unit: 'ms', zero: 'close every session at once' },
  // MQTT 3.1.1 §3.1.2.10: 0 would turn keep-alive off, so the broker would never publish a dead instance's Will.
  MQTT_KEEPALIVE: { min: 1, max: 65_535, unit: 's' },
  // MQTT 3.1.1 §2.2.3: no packet is larger than 256 MiB.
  MQTT_MAX_PACKET_BYTES: { min: KiB, max: 256 * MiB, unit: 'bytes' },
  MQTT_MAX_REMOTE_RECORDS_PER_INSTANCE: { min: 1, max: 10_000_000, unit: 'records' },
  MQTT_MAX_REMOTE_RECORDS: { min: 1, max: 100_000_000, unit: 'records' },
  MQTT_REMOTE_RECORDS_GRACE_MS: { min: 0, max: 24 * HOUR_MS, unit: 'ms', zero: 'let go as soon as the last monitor leaves' },
} as const satisfies Record<string, IntegerRange>;

export type IntegerSetting = keyof typeof INTEGER_SETTINGS;

/** What a setting accepts, in words, for error lines and the README. */
export function describeRange(range: IntegerRange): string {
  const unit = range.unit ? ` (${range.unit})` : '';
  if (range.zero && range.min === 0) return `an integer from 0 (${range.zero}) to ${range.max}${unit}`;
  const span = `an integer from ${range.min} to ${range.max}${unit}`;
  return range.zero ? `0 (${range.zero}) or ${span}` : span;
}

/** `value` (from `source`, e.g. a settings key) checked against `name`'s range. */
export function checkInteger(name: IntegerSetting, value: unknown, source: string = name): number {
  if (typeof value === 'number' && allows(INTEGER_SETTINGS[name], value)) return value;
  throw new ConfigError(`${source}=${quote(value)} is not allowed: ${describeRange(INTEGER_SETTINGS[name])}`);
}

/** The variable's value, or undefined when unset or empty (the layer's own default applies). */
export function readInteger(env: Record<string, string | undefined>, name: IntegerSetting): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  // Number(' ') is 0 and Number('1e3') is 1000: only plain decimal digits count.
  const value = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (allows(INTEGER_SETTINGS[name], value)) return value;
  throw new ConfigError(`${name}=${quote(raw)} is not allowed: ${describeRange(INTEGER_SETTINGS[name])}`);
}

function allows(range: IntegerRange, value: number): boolean {
  return Number.isInteger(value) && ((value >= range.min && value <= range.max) || (value === 0 && range.zero !== undefined));
}

export function checkLogLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw === '') return 'info';
  if ((LOG_LEVELS as readonly string[]).includes(raw)) return raw as LogLevel;
  throw new ConfigError(`LOG_LEVEL=${quote(raw)} is not allowed: one of ${LOG_LEVELS.join(', ')}`);
}

/** JSON lines for machines unless a person is watching the terminal the log goes to. */
export function checkLogFormat(raw: string | undefined, terminal: boolean): LogFormat {
  if (raw === undefined || raw === '') return terminal ? 'pretty' : 'json';
  if ((LOG_FORMATS as readonly string[]).includes(raw)) return raw as LogFormat;
  throw new ConfigError(`LOG_FORMAT=${quote(raw)} is not allowed: one of ${LOG_FORMATS.join(', ')}`);
}

export function readBoolean(env: Record<string, string | undefined>, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new ConfigError(`${name}=${quote(raw)} is not allowed: true or false`);
}

/** The id is an MQTT topic segment (topics.ts): `rack/7` would silently publish under another instance's path. */
export function checkInstanceId(value: string, source: string): string {
  if (isSafeTopicSegment(value)) return value;
  throw new ConfigError(`${source}=${quote(value)} is not allowed: 1 to 64 characters, none of '/', '+', '#' or NUL`);
}

/**
 * The standalone command line: only `--settings <file>` (as `meteor --settings`).
 * Strict, so a typo such as `--setings` fails instead of being ignored.
 */
export function parseCommandLine(argv: readonly string[]): { settingsFile?: string } {
  try {
    const { values } = parseArgs({ args: [...argv], options: { settings: { type: 'string' } }, strict: true, allowPositionals: false });
    if (values.settings === '') throw new ConfigError('--settings needs a file path');
    return { settingsFile: values.settings };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new ConfigError('--settings needs a file path');
    throw new ConfigError(`Command line: ${(error as Error).message.split('\n')[0]} (the only option is --settings <file>)`);
  }
}

/** JSON-quoted and cut, so a value with control characters or a megabyte of text still makes one short line. */
function quote(value: unknown): string {
  if (typeof value !== 'string') return shown(value).slice(0, 80);
  return JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value);
}

/** A refused value as the message shows it; one JSON cannot show (a BigInt, a cycle) must still end in the ConfigError, not a TypeError. */
function shown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value === 'bigint' ? `${value}n` : `[${typeof value}]`;
  }
}
