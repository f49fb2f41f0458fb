/**
 * Attack 7: open as many WebSockets to /websocket as the server lets this
 * one address have, never send `connect`, and hold them; sockets the server
 * closes (connect deadline) are replaced. The server should cap pending
 * sockets per address and stay away from its open-file limit.
 */
import type WebSocket from 'ws';
import type { Deadline } from './deadline';
import { ErrorTally } from './error-tally';
import type { AttackReport, AttackSizes, AttackTarget } from './types';
import { openWebSocket } from './ws-client';

const LANES = 100;

export async function preconnectFlood(target: AttackTarget, sizes: AttackSizes, deadline: Deadline): Promise<AttackReport> {
  const errors = new ErrorTally();
  const held = new Set<WebSocket>();
  let opened = 0;
  let opening = 0;
  let maxHeld = 0;
  let closedByServer = 0;
  const url = `ws://${target.host}:${target.port}/websocket`;
  const lane = async () => {
    while (!deadline.done) {
      if (held.size + opening >= sizes.preconnectSockets) {
        await deadline.sleep(100);
        continue;
      }
      opening++;
      try {
        const ws = await openWebSocket(url, target.localAddress, deadline).finally(() => opening--);
        opened++;
        held.add(ws);
        maxHeld = Math.max(maxHeld, held.size);
        ws.once('close', () => held.delete(ws) && closedByServer++);
      } catch (error) {
        if (deadline.done) break;
        errors.add(error);
        await deadline.sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  const holding = held.size;
  return {
    sent: opened, unit: 'sockets opened', errors: errors.count, firstError: errors.first,
    detail: `aimed at ${sizes.preconnectSockets} held; opened ${opened}, at most ${maxHeld} at once, ${holding} at the end; server closed ${closedByServer}; refused ${errors.count}`,
  };
}
