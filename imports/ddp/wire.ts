import EJSON from 'ejson';
import { isPlainObject } from '../common/is-plain-object';
import { ejsonToJSONValue } from '../common/ejson-values';

/**
 * DDP framing: text frame <-> message object, with EJSON for the fields that
 * carry user data (`fields`, `params`, `result`), as Meteor's ddp-common does.
 *
 * parseDdp returns null for invalid JSON and for non-objects (Meteor answers
 * those with "Bad request"); it throws when EJSON decoding fails (Meteor
 * answers that with "Parse error").
 */
export type DdpMessage = { msg?: unknown; [key: string]: unknown };

const EJSON_FIELDS = ['fields', 'params', 'result'] as const;
/** ejson exports it (Meteor's parseDDP uses it) but @types/ejson does not declare it. */
const adjustTypesFromJSONValue = (EJSON as unknown as { _adjustTypesFromJSONValue(value: unknown): unknown })._adjustTypesFromJSONValue;

export function parseDdp(raw: string, maxParams = Infinity): DdpMessage | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const msg = parsed as DdpMessage;
  // More params than anyone may pass are refused before the costly EJSON walk
  // (450,000 of them took ~130 ms); the session answers them with a 400.
  const skipParams = Array.isArray(msg.params) && msg.params.length > maxParams;
  for (const field of EJSON_FIELDS) {
    if (field === 'params' && skipParams) continue;
    // In place, as ddp-common's parseDDP does: the parsed JSON is ours, no clone needed.
    if (Object.hasOwn(msg, field)) msg[field] = adjustTypesFromJSONValue(msg[field]);
  }
  return msg;
}

/**
 * Serialise an outgoing message. Fields set to undefined become `cleared`
 * (DDP.md "changed"), and an empty `fields` is dropped, as Meteor does.
 */
export function stringifyDdp(msg: Record<string, unknown>): string {
  // ddp-common's exact rule: a falsy id (null, 0, '') is sent as it came.
  if (msg.id && typeof msg.id !== 'string') throw new TypeError('Message id is not a string');
  const copy: Record<string, unknown> = { ...msg };
  if (isPlainObject(msg.fields)) {
    const fields: Record<string, unknown> = {};
    const cleared: string[] = [];
    for (const [key, value] of Object.entries(msg.fields)) {
      if (value === undefined) cleared.push(key);
      else fields[key] = value;
    }
    if (cleared.length) copy.cleared = cleared;
    if (Object.keys(fields).length) copy.fields = fields;
    else delete copy.fields;
  }
  for (const field of EJSON_FIELDS) {
    if (Object.hasOwn(copy, field)) copy[field] = ejsonToJSONValue(copy[field]);
  }
  return JSON.stringify(copy);
}

/**
 * What an error reply echoes as `offendingMessage`: the message itself (as
 * Meteor does) when its frame was small, else only its `msg` and `id` when
 * those are short strings. A large frame must not buy a larger reply: an
 * EJSON binary echoes as an object with one key per byte (8× the input).
 */
function echoOffendingMessage(msg: DdpMessage, frameLength: number, maxBytes: number): DdpMessage {
  if (frameLength <= maxBytes) return msg;
  const echo: DdpMessage = {};
  if (typeof msg.msg === 'string' && msg.msg.length <= 64) echo.msg = msg.msg;
  if (typeof msg.id === 'string' && msg.id.length <= 64) echo.id = msg.id;
  return echo;
}

/**
 * DDP.md "error": the reply to a message the server could not handle, with
 * the offending message echoed (echoOffendingMessage) when there is one.
 * The socket gate (before a session exists) and the session both send it.
 */
export function protocolError(reason: string, offendingMessage: DdpMessage | null | undefined, frameLength: number, maxOffendingBytes: number): DdpMessage {
  return offendingMessage
    ? { msg: 'error', reason, offendingMessage: echoOffendingMessage(offendingMessage, frameLength, maxOffendingBytes) }
    : { msg: 'error', reason };
}


const SUPPORTED_DDP_VERSIONS = ['1', 'pre2', 'pre1'] as const;

/**
 * Meteor's calculateVersion: the first version in the client's preference
 * list that the server supports, else the server's best.
 */
export function negotiateVersion(clientSupport: readonly string[]): string {
  return clientSupport.find((v) => (SUPPORTED_DDP_VERSIONS as readonly string[]).includes(v)) ?? SUPPORTED_DDP_VERSIONS[0];
}
