import fc from 'fast-check';
import { burstFrames, describeFrame, frameBytes, fuzzCase, sockjsPayload, textFrame, wireFrame, type FuzzCase, type WireFrame } from './arbitraries';
import type { FuzzTarget } from './fuzz-target';
import { caseSourceAddress, CONNECT_MESSAGE, openChannel, type FuzzChannel, type TransportName } from './transports';

/**
 * The fuzz properties, one per transport, shared by the bounded suite and
 * `npm run fuzz`. For any case (optionally `connect`, then up to six hostile
 * frames), these must hold:
 * 1. every frame the server sends is a JSON object with a string `msg`
 *    (inside SockJS framing where the transport has it);
 * 2. on the WebSocket transports, a frame over `maxFrameBytes` gets its
 *    socket closed, and a close with 1009 means such a frame was sent;
 * 3. the socket still open answers a probe (method `getSessionId`, or
 *    "Must connect first" before connect) within the probe timeout: no hang;
 * 4. the process is alive, its RSS bounded, and a fresh client completes
 *    `connect` + `getSessionId` (FuzzTarget.assertHealthy).
 * Each case comes from a loopback address of its own and the fresh client
 * from another (transports.ts): what one hostile client does must not deny
 * service to others, and per-address limits apply to a case, not the run.
 */

export const PROBE_TIMEOUT_MS = 2000;
let caseCounter = 0;

/** The transports that carry one DDP message per WebSocket frame, where maxFrameBytes applies to the frame. */
const isPlainWebSocket = (transport: TransportName) => transport === 'websocket' || transport === 'sockjs-raw-websocket';

/** Arbitrary for one transport's cases. */
export function caseArbitrary(transport: TransportName, maxFrameBytes: number): fc.Arbitrary<FuzzCase> {
  const limits = { maxFrameBytes };
  const plain = isPlainWebSocket(transport);
  return fuzzCase(plain ? wireFrame(limits) : sockjsPayload(limits), burstFrames(!plain));
}

/**
 * A frame the transport must refuse for its size. Checked on the plain
 * WebSockets only: inside SockJS envelopes the limit applies to each message.
 */
function oversize(transport: TransportName, frame: WireFrame, maxFrameBytes: number): boolean {
  return isPlainWebSocket(transport) && frameBytes(frame) > maxFrameBytes;
}

export function describeCase(c: FuzzCase): string {
  const shown = c.frames.slice(0, 12).map((f, i) => `  frame ${i}: ${describeFrame(f)}`);
  if (c.frames.length > shown.length) shown.push(`  … and ${c.frames.length - shown.length} more frames`);
  return `connectFirst=${c.connectFirst}\n` + shown.join('\n');
}

class CaseFailure extends Error {}

/** Runs one case against the target; throws (with the case described) when a property breaks. */
export async function runCase(target: FuzzTarget, transport: TransportName, c: FuzzCase): Promise<void> {
  await target.ensureRunning();
  let channel: FuzzChannel | null = null;
  const fail = (what: string): never => {
    const tail = target.isAlive() ? `\napp output tail:\n${target.outputTail()}` : '';
    throw new CaseFailure(`${transport}: ${what}\ncase:\n${describeCase(c)}\nserver sent: ${JSON.stringify(channel?.messages ?? []).slice(0, 800)}${tail}`);
  };
  try {
    let sentOversize = false;
    try {
      channel = await openChannel(transport, target.url, caseSourceAddress(++caseCounter));
      sentOversize = await exercise(target, transport, c, channel, fail);
    } finally {
      await channel?.close();
    }
    // The close code is known once the connection has ended.
    if (isPlainWebSocket(transport) && channel.closeCode === 1009 && !sentOversize) fail(`closed with 1009 though no frame exceeded ${target.options.maxFrameBytes} bytes`);
    await target.assertHealthy();
  } catch (error) {
    if (error instanceof CaseFailure) throw error;
    // Whatever went wrong, a dead process is the first thing to report.
    await target.exitWithin(50); // the bound keeps shrinking a non-crash failure fast
    fail((await target.deathReport()) ?? (error as Error).message);
  }
}

/** Sends the case and checks the answers; returns whether a frame over the size limit went out. */
async function exercise(target: FuzzTarget, transport: TransportName, c: FuzzCase, channel: FuzzChannel, fail: (what: string) => never): Promise<boolean> {
  const maxFrameBytes = target.options.maxFrameBytes;
  if (c.connectFirst) {
    await channel.sendDdp(CONNECT_MESSAGE);
    if ((await channel.waitFor((m) => m.msg === 'connected', PROBE_TIMEOUT_MS, 'connected')) === 'closed') {
      fail(`closed (code ${channel.closeCode}) before answering a valid connect`);
    }
  }
  let sentOversize = false;
  for (const frame of c.frames) {
    if (channel.isClosed) break;
    if (oversize(transport, frame, maxFrameBytes)) sentOversize = true;
    await channel.sendFuzz(frame);
  }
  // The probe goes after every fuzz frame on the same connection, so its
  // answer means all of them were processed.
  const probeId = `fuzz-probe-${caseCounter}`;
  if (!channel.isClosed) await channel.sendDdp({ msg: 'method', id: probeId, method: 'getSessionId', params: [] });
  const answered = (m: Record<string, unknown>) =>
    (m.msg === 'result' && m.id === probeId) ||
    (m.msg === 'error' && (m.offendingMessage as { id?: unknown } | undefined)?.id === probeId);
  const outcome = await channel.waitFor(answered, PROBE_TIMEOUT_MS, `answer to probe ${probeId}`);
  const dead = await target.deathReport();
  if (dead) fail(dead);
  if (channel.violations.length) fail(`wire contract broken: ${channel.violations.join('; ')}`);
  if (sentOversize && outcome === 'answered') fail(`a frame over maxFrameBytes (${maxFrameBytes}) was accepted: the socket stayed open`);
  return sentOversize;
}

/**
 * Crashes found before (issue 9), run first whatever the seed (fast-check's
 * `examples`), so a regression fails every run, not one seed in many.
 */
export function knownCrashCases(transport: TransportName, maxFrameBytes: number): FuzzCase[] {
  const big = `{"msg":"method","id":"1","method":"getSessionId","params":["${'a'.repeat(maxFrameBytes)}"]}`;
  switch (transport) {
    case 'websocket':
      return [{ connectFirst: true, frames: [textFrame(big)] }];
    case 'sockjs-raw-websocket':
      // sockjs's raw WebSocket threw on close code 1009 (faye accepts 1000 and 3000-4999 only).
      return [{ connectFirst: true, frames: [textFrame(big)] }];
    case 'sockjs-session-websocket':
      return [
        // A JSON value that is not a string reached the transport as a non-string frame.
        { connectFirst: false, frames: [textFrame('[1]')] },
        { connectFirst: false, frames: [textFrame('{}')] },
        // A message that makes the server close the socket, then another in the same
        // SockJS frame: sockjs went on to the next one with its session already null.
        { connectFirst: false, frames: [textFrame(JSON.stringify(['{"msg":"connect"}', 'x']))] },
        { connectFirst: true, frames: [textFrame(JSON.stringify([big, 'x']))] },
      ];
    case 'sockjs-xhr':
      return [
        { connectFirst: false, frames: [textFrame('[1]')] },
        { connectFirst: false, frames: [textFrame(JSON.stringify(['{"msg":"connect"}', 'x']))] },
      ];
  }
}

export function fuzzProperty(target: FuzzTarget, transport: TransportName): fc.IAsyncProperty<[FuzzCase]> {
  return fc.asyncProperty(caseArbitrary(transport, target.options.maxFrameBytes), (c) => target.track(runCase(target, transport, c)));
}
