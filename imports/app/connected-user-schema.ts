import SimpleSchema from 'simpl-schema';
import { compileFlatSchemaCheck } from './flat-schema-check';
import type { ConnectedUser } from './host';
import { isPlainObject } from '../common/is-plain-object';

/**
 * The ConnectedUsers record, validated before every write (and, in the MQTT
 * bridge, on every record that arrives from another instance).
 */
export const RECORD_LIMITS = {
  /** Longer user agents are cut to this many characters rather than refused. */
  maxUserAgentLength: 512,
  /** An IPv6 address with zone and port fits comfortably. */
  maxClientAddressLength: 128,
  maxIdLength: 64,
} as const;

export const ConnectedUserSchema = new SimpleSchema({
  _id: { type: String, max: RECORD_LIMITS.maxIdLength },
  userId: { type: String, max: RECORD_LIMITS.maxIdLength },
  connectedAt: Date,
  clientAddress: { type: String, optional: true, max: RECORD_LIMITS.maxClientAddressLength },
  userAgent: { type: String, optional: true, max: RECORD_LIMITS.maxUserAgentLength },
  instanceId: { type: String, max: RECORD_LIMITS.maxIdLength },
  // Issue 14: the person behind the connection, once logged in, and whether they are idle.
  accountId: { type: String, optional: true, max: RECORD_LIMITS.maxIdLength },
  loggedInAt: { type: Date, optional: true },
  idle: { type: Boolean, optional: true },
  lastActivity: { type: Date, optional: true },
});

const quickCheck = compileFlatSchemaCheck(ConnectedUserSchema);

/**
 * Throws an error describing the first problem when `doc` is not a valid
 * record. The compiled check answers the common (valid) case; simpl-schema
 * runs whenever it cannot vouch for the document.
 */
export function validateConnectedUser(doc: unknown): asserts doc is ConnectedUser {
  if (quickCheck?.(doc)) return;
  // A Date, Map or typed array is an object too; simpl-schema would validate a Date as an empty document.
  if (!isPlainObject(doc) || Object.prototype.toString.call(doc) !== '[object Object]') throw new Error('A connection record must be an object');
  // simpl-schema looks keys up on a plain object, so `toString`, `constructor` … with a primitive value
  // pass it (length limits skipped); records also arrive from other instances, so refuse them here.
  for (const key of Object.keys(doc)) if (!SCHEMA_KEYS.has(key)) throw keyNotInSchema(key);
  ConnectedUserSchema.validate(doc);
}

const SCHEMA_KEYS: ReadonlySet<string> = new Set(ConnectedUserSchema.objectKeys());

/** The error simpl-schema itself throws for an unknown key (its ClientError's name, code and message). */
function keyNotInSchema(key: string): Error {
  return Object.assign(new Error(`${key} is not allowed by the schema`), { name: 'ClientError', errorType: 'ClientError', error: 'validation-error' });
}
