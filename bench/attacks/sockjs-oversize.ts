/**
 * Attack 2: one text frame of maxFrameBytes + 1 (1,048,577 bytes) on the raw
 * SockJS WebSocket endpoint (`/sockjs/websocket`, no SockJS framing), on a
 * fresh socket each time, as fast as the server answers. The server should
 * refuse each frame without keeping it.
 */
import type { Deadline } from './deadline';
import { ErrorTally } from './error-tally';
import type { AttackReport, AttackSizes, AttackTarget } from './types';
import { openWebSocket } from './ws-client';

const LANES = 4;
const FRAME_BYTES = 1_048_577;

export async function sockjsOversize(target: AttackTarget, _sizes: AttackSizes, deadline: Deadline): Promise<AttackReport> {
  const errors = new ErrorTally();
  const frame = Buffer.alloc(FRAME_BYTES, 'x');
  let sent = 0;
  const closeCodes = new Map<number, number>();
  const lane = async () => {
    while (!deadline.done) {
      try {
        const ws = await openWebSocket(`ws://${target.host}:${target.port}/sockjs/websocket`, target.localAddress, deadline);
        const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
        ws.send(frame, { binary: false });
        sent++;
        const code = await deadline.race(closed, -1, 5000);
        closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
        ws.terminate();
      } catch (error) {
        if (deadline.done) break;
        errors.add(error);
        await deadline.sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  const codes = [...closeCodes].map(([code, n]) => `${code === -1 ? 'still open after 5 s' : code}×${n}`).join(', ');
  return {
    sent, unit: 'frames of 1,048,577 B', errors: errors.count, firstError: errors.first,
    detail: `${sent} oversize frames (${((sent * FRAME_BYTES) / 1024 ** 2).toFixed(0)} MB); close codes: ${codes || 'none'}`,
  };
}
