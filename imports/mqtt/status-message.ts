import SimpleSchema from 'simpl-schema';
import { isPlainObject } from '../common/is-plain-object';

/**
 * An instance's retained status. `epoch` identifies one run of the instance
 * (its start time in ms): an `offline` whose epoch is older than the latest
 * `online` seen is a stale death from an earlier run and is ignored
 * (compare Sparkplug's bdSeq).
 */
export interface InstanceStatus {
  state: 'online' | 'offline';
  epoch: number;
  startedAt?: string;
  reason?: 'will' | 'shutdown';
  /**
   * Set on an `online` status while the instance drains for shutdown (its
   * sessions leave over DRAIN_MS, then `offline` follows). A flag, not a new
   * `state`: older readers drop the unknown key and still see `online`.
   */
  draining?: boolean;
}

const StatusSchema = new SimpleSchema({
  state: { type: String, allowedValues: ['online', 'offline'] },
  epoch: { type: SimpleSchema.Integer, min: 0 },
  startedAt: { type: String, optional: true, max: 64 },
  reason: { type: String, optional: true, allowedValues: ['will', 'shutdown'] },
  draining: { type: Boolean, optional: true },
});

export function parseStatus(payload: Buffer): InstanceStatus {
  return parseMessage(payload, StatusSchema, 'status') as unknown as InstanceStatus;
}

/**
 * A JSON object checked against `schema`. Keys a newer instance may add are
 * dropped, not refused: during a rolling deploy an older instance must still
 * read a newer one's status and summary (issue 12 added `connects` and
 * `disconnects` to the digest; a strict schema made older readers reject
 * every summary as "invalid digest"). A key sent as null counts as absent
 * (a required one is then missing).
 */
function parseMessage(payload: Buffer, schema: SimpleSchema, kind: string): Record<string, unknown> {
  const value = JSON.parse(payload.toString('utf8')) as unknown;
  if (!isPlainObject(value)) throw new Error(`${kind} must be a JSON object`);
  const keys = new Set(schema.objectKeys());
  // A null optional key is an absent one: simpl-schema accepts null there, and the types promise `T | undefined`.
  const known = Object.fromEntries(Object.entries(value).filter(([key, field]) => keys.has(key) && field !== null));
  schema.validate(known);
  return known;
}

/** An instance's digest of its own records (session-digest.ts), with its run's epoch and a sequence number. */
export interface DigestMessage {
  epoch: number;
  seq: number;
  count: number;
  hash: string;
  /** Cumulative connects and disconnects of this run: the instance's summary (issue 12); rates are their differences. */
  connects?: number;
  disconnects?: number;
}

const DigestSchema = new SimpleSchema({
  epoch: { type: SimpleSchema.Integer, min: 0 },
  seq: { type: SimpleSchema.Integer, min: 0 },
  count: { type: SimpleSchema.Integer, min: 0 },
  hash: { type: String, regEx: /^[0-9a-f]{16}$/ },
  connects: { type: SimpleSchema.Integer, min: 0, optional: true },
  disconnects: { type: SimpleSchema.Integer, min: 0, optional: true },
});

export function parseDigest(payload: Buffer): DigestMessage {
  return parseMessage(payload, DigestSchema, 'digest') as unknown as DigestMessage;
}
