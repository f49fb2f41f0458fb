import fc from 'fast-check';

/**
 * fast-check arbitraries for hostile DDP input, shared by the bounded suite
 * (tests/fuzz/ddp-fuzz.test.ts) and the long runs (`npm run fuzz`).
 *
 * What they cover: valid-looking DDP messages of every kind with ids and
 * params of every JSON type; EJSON's special forms, valid and broken
 * (`$date`, `$binary`, `$type`/`$value`, `$escape`, `$InfNaN`, `$regexp`);
 * deep nesting; mutations of valid frames (truncation, byte flips, duplicated
 * keys); random bytes; random Unicode with lone surrogates; frames a few bytes
 * either side of `maxFrameBytes`; and SockJS envelopes holding any JSON value.
 *
 * Example: `fc.sample(wireFrame({ maxFrameBytes: 16384 }), 5)`.
 * Caveat: a string with a lone surrogate cannot travel as-is in a WebSocket
 * text frame (it is sent as U+FFFD); inside JSON text it travels escaped
 * (`"\ud800"`), which is how these arbitraries deliver it.
 */

/** One WebSocket frame as the fuzzer sends it; `bytes` with `binary: false` is a text frame with raw, maybe invalid, UTF-8. */
export type WireFrame =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array; binary: boolean };

/** Frames print in short form in fast-check reports (a counterexample can be megabytes); FUZZ_SEED + FUZZ_PATH replay it exactly. */
export function textFrame(text: string): WireFrame {
  return withShortForm({ kind: 'text', text });
}

export function bytesFrame(bytes: Uint8Array, binary: boolean): WireFrame {
  return withShortForm({ kind: 'bytes', bytes, binary });
}

function withShortForm(frame: WireFrame): WireFrame {
  Object.defineProperty(frame, fc.toStringMethod, { value: () => describeFrame(frame), enumerable: false });
  return frame;
}

export interface FrameLimits {
  /** The server's DDP_MAX_FRAME_BYTES. */
  maxFrameBytes: number;
}

export const METHOD_NAMES = ['getSessionId', 'presence.role', 'nope', '', 'constructor', '__proto__', 'toString'] as const;
export const PUBLICATION_NAMES = [
  'list.connectedUsers',
  'list.connectedUsers.count',
  'presence.bridgeStatus',
  'nope',
  '',
  'hasOwnProperty',
  '__proto__',
] as const;

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** Any code point, control characters, newlines and lone surrogates included. */
export const hostileString = (maxLength = 24): fc.Arbitrary<string> =>
  fc.string({
    maxLength,
    unit: fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
      { weight: 1, arbitrary: loneSurrogate },
      { weight: 1, arbitrary: fc.constantFrom('\n', '\r\n', '\u2028', '\u0000', '"', '\\', '{', '[', '$') },
    ),
  });

const hugeNumber = fc.constantFrom(
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER + 2,
  -0,
  1e21,
  2 ** 53,
  -(2 ** 63),
);

/** Numbers JSON can carry, extremes included (literals JSON.stringify never writes: `rawNumberFrame`). */
const anyNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), hugeNumber);

const validBase64 = fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes).toString('base64'));
const invalidBase64 = fc.oneof(
  hostileString(16),
  fc.constantFrom('====', 'a', 'ab=c', '!!!!', 'YQ', 'YQ=', 'Y Q==', '\u00ff\u00fe'),
);

/** EJSON's special forms, valid and broken. */
export const ejsonSpecial = (inner: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.record({ $date: fc.oneof(anyNumber, hostileString(8), fc.constant(null), inner) }),
    fc.record({ $binary: fc.oneof({ weight: 2, arbitrary: validBase64 }, invalidBase64, anyNumber, fc.constant(null), inner) }),
    fc.record({ $type: fc.oneof(fc.constantFrom('oid', 'Date', 'unknown', '__proto__', 'constructor'), hostileString(8)), $value: inner }),
    fc.record({ $escape: fc.oneof(fc.dictionary(hostileString(6), inner, { maxKeys: 3 }), fc.constant(null), hostileString(6), anyNumber) }),
    fc.record({ $InfNaN: fc.oneof(fc.constantFrom(1, -1, 0), anyNumber, hostileString(4), fc.constant(null)) }),
    fc.record({ $regexp: fc.oneof(fc.constantFrom('(', '(a+)+$', '[', '\\', '.*', '(?<n>x)\\k<n>'), hostileString(12)), $flags: fc.oneof(hostileString(60), fc.constant(null), anyNumber) }),
    // Special keys next to others: not special any more, or escaped.
    fc.record({ $date: anyNumber, extra: inner }),
    fc.record({ $escape: fc.record({ $date: anyNumber }) }),
  );

/** JSON-compatible values with EJSON specials anywhere in the tree, depth-bounded. */
export const ejsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    anyNumber,
    hostileString(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileString(8), fc.constantFrom('__proto__', 'constructor', '$date', '$binary', '$escape')), tie('value'), { maxKeys: 4 }),
    ejsonSpecial(tie('value')),
  ),
})).value;

/** An id of any type: what DDP expects (a string) and everything else. */
export const anyId: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString(12) },
  fc.integer(),
  anyNumber,
  fc.constant(null),
  fc.boolean(),
  fc.dictionary(hostileString(4), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 }),
);

/** A field present with some value, or absent (undefined drops it from JSON). */
const maybe = <T>(arb: fc.Arbitrary<T>, absentWeight = 1): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: absentWeight, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: arb });

const anyParams = fc.oneof(
  { weight: 4, arbitrary: fc.array(ejsonValue, { maxLength: 4 }) },
  ejsonValue,
  fc.constant([{ token: 'test-monitor-token' }]),
  fc.array(fc.record({ token: fc.oneof(hostileString(), ejsonValue) }), { maxLength: 2 }),
);

const versions = fc.oneof(fc.constantFrom('1', 'pre2', 'pre1', 'pre3', '', '2'), hostileString(6));

const connectMessage = fc.record(
  {
    msg: fc.constant('connect'),
    version: maybe(fc.oneof({ weight: 3, arbitrary: versions }, anyId)),
    support: maybe(fc.oneof({ weight: 3, arbitrary: fc.array(versions, { maxLength: 4 }) }, ejsonValue)),
    session: maybe(anyId, 3),
  },
  { requiredKeys: ['msg'] },
);

const methodMessage = fc.record(
  {
    msg: fc.constant('method'),
    id: maybe(anyId),
    method: maybe(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...METHOD_NAMES) }, anyId)),
    params: maybe(anyParams),
    randomSeed: maybe(fc.oneof(hostileString(), anyId), 4),
  },
  { requiredKeys: ['msg'] },
);

const subMessage = fc.record(
  {
    msg: fc.constant('sub'),
    id: maybe(fc.oneof(fc.constantFrom('a', 'b'), anyId)),
    name: maybe(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...PUBLICATION_NAMES) }, anyId)),
    params: maybe(anyParams),
  },
  { requiredKeys: ['msg'] },
);

const unsubMessage = fc.record({ msg: fc.constant('unsub'), id: maybe(fc.oneof(fc.constantFrom('a', 'b'), anyId)) }, { requiredKeys: ['msg'] });

const pingPongMessage = fc.record(
  { msg: fc.constantFrom('ping', 'pong'), id: maybe(anyId) },
  { requiredKeys: ['msg'] },
);

/** A message a client must never send: server-to-client kinds, unknown kinds, non-string msg. */
const strangeMessage = fc.record(
  {
    msg: fc.oneof(
      fc.constantFrom('connected', 'failed', 'result', 'updated', 'added', 'changed', 'removed', 'ready', 'nosub', 'error', 'addedBefore', 'movedBefore', '__proto__'),
      hostileString(8),
      anyId,
    ),
    id: maybe(anyId),
    fields: maybe(ejsonValue),
    cleared: maybe(fc.oneof(fc.array(fc.oneof(hostileString(6), anyId), { maxLength: 3 }), ejsonValue)),
    result: maybe(ejsonValue),
    collection: maybe(hostileString(8)),
  },
  { requiredKeys: ['msg'] },
);

/** A DDP message object that looks valid, or almost. */
export const ddpMessage: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 2, arbitrary: connectMessage },
  { weight: 4, arbitrary: methodMessage },
  { weight: 3, arbitrary: subMessage },
  { weight: 1, arbitrary: unsubMessage },
  { weight: 1, arbitrary: pingPongMessage },
  { weight: 2, arbitrary: strangeMessage },
);

/** `[[[[…]]]]` or `{"a":{"a":…}}` as params of a method, `depth` levels deep. */
export const deeplyNestedFrame = fc
  .record({ depth: fc.integer({ min: 100, max: 5000 }), shape: fc.constantFrom('array', 'object', 'escape', 'binaryLeaf'), field: fc.constantFrom('params', 'id', 'fields', 'other') })
  .map(({ depth, shape, field }) => {
    const [open, close, leaf] =
      shape === 'array' ? ['[', ']', '1'] : shape === 'object' ? ['{"a":', '}', '1'] : shape === 'escape' ? ['{"$escape":{"a":', '}}', '1'] : ['[', ']', '{"$binary":"YQ=="}'];
    const deep = open.repeat(depth) + leaf + close.repeat(depth);
    const value = field === 'params' ? `[${deep}]` : deep;
    return `{"msg":"method","id":"deep","method":"getSessionId","${field}":${value}}`;
  });

/** Number literals JSON.parse accepts but JSON.stringify never writes. */
export const rawNumberFrame = fc
  .constantFrom('1e400', '-1e400', '1e-400', '123456789012345678901234567890', '-0', '0.0000000000000000000000000001', '1E+2')
  .map((n) => `{"msg":"method","id":"n","method":"presence.role","params":[${n},{"$date":${n}},{"$InfNaN":${n}}]}`);

/** Valid JSON that is not a DDP message object. */
export const nonObjectJson = fc.oneof(
  fc.constantFrom('null', '[]', '[{}]', '1', '"connect"', 'true', '{}', '{"msg":null}', '{"msg":""}', '{"msg":[]}'),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
);

/** A valid frame, then one mutation of its text or bytes. */
export const mutatedFrame: fc.Arbitrary<WireFrame> = fc
  .tuple(ddpMessage.map((m) => JSON.stringify(m)), fc.nat(), fc.nat(255), fc.constantFrom('truncate', 'flip', 'duplicateKey', 'insert', 'drop'), hostileString(4))
  .map(([text, at, byte, how, insert]): WireFrame => {
    const bytes = Buffer.from(text, 'utf8');
    const pos = bytes.length ? at % bytes.length : 0;
    switch (how) {
      case 'truncate':
        return bytesFrame(bytes.subarray(0, pos), false);
      case 'flip': {
        const copy = Buffer.from(bytes);
        if (copy.length) copy[pos] = copy[pos]! ^ (byte || 1);
        return bytesFrame(copy, false);
      }
      case 'duplicateKey':
        // JSON.parse keeps the last duplicate; a server must not trust the first.
        return textFrame(text.replace(/^\{/, `{"msg":"connect","id":${JSON.stringify(insert)},`).replace(/\}$/, `,"msg":${JSON.stringify(insert)}}`));
      case 'insert':
        return textFrame(text.slice(0, pos) + insert + text.slice(pos));
      case 'drop':
        return textFrame(text.slice(0, pos) + text.slice(pos + 1 + (byte % 4)));
      default:
        throw new Error(`unknown mutation ${how satisfies never}`);
    }
  });

/**
 * A frame of about `maxFrameBytes` (at the limit, or a few bytes over), padded
 * with a 1-, 2- or 4-byte character so that characters and bytes differ.
 */
export const boundaryFrame = ({ maxFrameBytes }: FrameLimits): fc.Arbitrary<string> =>
  fc.record({ over: fc.integer({ min: -2, max: 40 }), pad: fc.constantFrom('a', 'é', '😀', '\\n') }).map(({ over, pad }) => {
    const head = '{"msg":"method","id":"big","method":"getSessionId","params":["';
    const tail = '"]}';
    const target = maxFrameBytes + over;
    const padBytes = Buffer.byteLength(pad, 'utf8');
    const room = Math.max(0, target - Buffer.byteLength(head + tail, 'utf8'));
    const body = pad.repeat(Math.floor(room / padBytes)) + 'a'.repeat(room % padBytes);
    return head + body + tail;
  });

/** Any DDP text (one message, as /websocket and /sockjs/websocket carry it). */
export const ddpText = (limits: FrameLimits): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 12, arbitrary: ddpMessage.map((m) => JSON.stringify(m)) },
    { weight: 2, arbitrary: nonObjectJson },
    { weight: 1, arbitrary: deeplyNestedFrame },
    { weight: 1, arbitrary: rawNumberFrame },
    { weight: 2, arbitrary: hostileString(40) },
    { weight: 1, arbitrary: boundaryFrame(limits) },
  );

/** One WebSocket frame for /websocket or /sockjs/websocket. */
export const wireFrame = (limits: FrameLimits): fc.Arbitrary<WireFrame> =>
  fc.oneof(
    { weight: 12, arbitrary: ddpText(limits).map((text): WireFrame => textFrame(text)) },
    { weight: 3, arbitrary: mutatedFrame },
    { weight: 1, arbitrary: ddpMessage.map((m): WireFrame => bytesFrame(Buffer.from(JSON.stringify(m)), true)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): WireFrame => bytesFrame(bytes, true)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): WireFrame => bytesFrame(bytes, false)) },
  );

/**
 * A SockJS payload (a session WebSocket frame or an xhr_send body). Valid ones
 * are JSON arrays of strings, each string one DDP message; the rest is any
 * JSON value, broken JSON, or bytes.
 */
export const sockjsPayload = (limits: FrameLimits): fc.Arbitrary<WireFrame> =>
  fc.oneof(
    { weight: 10, arbitrary: fc.array(ddpText(limits), { minLength: 1, maxLength: 3 }).map((texts): WireFrame => textFrame(JSON.stringify(texts))) },
    { weight: 2, arbitrary: ddpText(limits).map((text): WireFrame => textFrame(JSON.stringify(text))) },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.constantFrom<unknown>([1], 1, {}, null, [null], [{}], [['a']], true, [], [true], '', ['']),
          fc.array(fc.oneof(ddpMessage, ejsonValue), { minLength: 1, maxLength: 3 }),
          fc.jsonValue({ maxDepth: 2 }),
        )
        .map((value): WireFrame => textFrame(JSON.stringify(value) ?? 'null')),
    },
    { weight: 1, arbitrary: fc.constantFrom(' [1]', '[1', '["a"', '', ' ', '[]]', '\u0000').map((text): WireFrame => textFrame(text)) },
    { weight: 1, arbitrary: mutatedFrame.map((f) => (f.kind === 'text' ? textFrame(JSON.stringify([f.text])) : f)) },
    { weight: 1, arbitrary: fc.array(ddpText(limits), { minLength: 1, maxLength: 2 }).map((texts): WireFrame => bytesFrame(Buffer.from(JSON.stringify(texts)), true)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }).map((bytes): WireFrame => bytesFrame(bytes, false)) },
  );

/**
 * Many copies of one message (ids numbered, or all the same), to reach the
 * per-session bounds six frames cannot: subscriptions, pending methods,
 * queued messages. One WebSocket frame each, or SockJS envelopes of many.
 */
export const burstFrames = (envelope: boolean): fc.Arbitrary<WireFrame[]> =>
  fc
    .record({ template: ddpMessage, count: fc.integer({ min: 2, max: 1200 }), numbered: fc.boolean() })
    .map(({ template, count, numbered }) => {
      const texts = Array.from({ length: count }, (_, i) => JSON.stringify(numbered ? { ...template, id: `burst-${i}` } : template));
      if (!envelope) return texts.map(textFrame);
      const frames: WireFrame[] = [];
      // Envelopes of at most ~8 KB stay under the xhr_send body limit.
      for (let i = 0, size = 0, start = 0; i <= texts.length; i++) {
        if (i === texts.length || size + texts[i]!.length > 8000) {
          if (i > start) frames.push(textFrame(JSON.stringify(texts.slice(start, i))));
          start = i;
          size = 0;
        }
        if (i < texts.length) size += texts[i]!.length + 3;
      }
      return frames;
    });

/** A test case: whether to complete `connect` first, then the frames. */
export interface FuzzCase {
  connectFirst: boolean;
  frames: WireFrame[];
}

export const fuzzCase = (frame: fc.Arbitrary<WireFrame>, burst: fc.Arbitrary<WireFrame[]>): fc.Arbitrary<FuzzCase> =>
  fc.record({
    connectFirst: fc.boolean(),
    frames: fc.oneof(
      // minLength 0, not 1: fast-check shrinks the tail behind a kept first
      // frame with the same length bounds, so with 1 it could never reduce
      // [culprit, bystander] to [culprit].
      { weight: 19, arbitrary: fc.array(frame, { minLength: 0, maxLength: 6 }) },
      { weight: 1, arbitrary: fc.tuple(fc.array(frame, { maxLength: 2 }), burst).map(([some, many]) => [...some, ...many]) },
    ),
  });

/** Bytes of a frame as they go on the wire. */
export function frameBytes(frame: WireFrame): number {
  return frame.kind === 'text' ? Buffer.byteLength(frame.text, 'utf8') : frame.bytes.length;
}

/** A short, readable form of a frame for failure messages. */
export function describeFrame(frame: WireFrame): string {
  const cut = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}… (${s.length} chars)` : s);
  if (frame.kind === 'text') return `text ${cut(JSON.stringify(frame.text))}`;
  return `${frame.binary ? 'binary' : 'text-bytes'} hex:${cut(Buffer.from(frame.bytes).toString('hex'))}`;
}
