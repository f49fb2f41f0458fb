/**
 * Legit-client check 8 (not an attack): a client that sends many method
 * calls in one write, as a reconnecting Meteor client replays its queue.
 * It must get every result and must NOT be disconnected.
 */
import type { Deadline } from './deadline';
import { ErrorTally } from './error-tally';
import type { AttackReport, AttackSizes, AttackTarget } from './types';
import { maskedTextFrames, openDdpSession, rawSocket } from './ws-client';

/** After the last result, stay this long to see whether the server closes the session anyway. */
const LINGER_MS = 500;

export async function pipelinedMethods(target: AttackTarget, sizes: AttackSizes, deadline: Deadline): Promise<AttackReport> {
  const errors = new ErrorTally();
  const count = sizes.pipelinedMethods;
  let results = 0;
  let errorResults = 0;
  let closed = false;
  let disconnected = false;
  let elapsedMs = NaN;
  try {
    const ws = await openDdpSession(target, deadline);
    const done = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.startsWith('{"msg":"ping"')) ws.send('{"msg":"pong"}');
        else if (text.startsWith('{"msg":"result"')) {
          if (text.includes('"error":')) errorResults++;
          if (++results === count) resolve();
        }
      });
      ws.once('close', () => ((closed = true), resolve()));
    });
    const frames = Array.from({ length: count }, (_, i) => `{"msg":"method","id":"${i}","method":"getSessionId","params":[]}`);
    const started = performance.now();
    rawSocket(ws).write(maskedTextFrames(frames));
    await deadline.race(done, undefined);
    elapsedMs = performance.now() - started;
    if (!closed) await deadline.race(new Promise((r) => ws.once('close', r)), undefined, LINGER_MS);
    disconnected = closed;
    ws.terminate();
  } catch (error) {
    errors.add(error);
  }
  const legitOk = results === count && !disconnected && errors.count === 0;
  return {
    sent: count, unit: 'method calls in one write', errors: errors.count, firstError: errors.first, legitOk,
    detail: `${results} of ${count} results (${errorResults} of them errors) in ${Number.isFinite(elapsedMs) ? elapsedMs.toFixed(0) : '–'} ms; ${disconnected ? 'DISCONNECTED by the server' : 'still connected'}`,
  };
}
