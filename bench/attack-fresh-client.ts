/**
 * After an attack: can a brand-new client still connect and call
 * `getSessionId` (and get its own session id back) within a time limit?
 */
import WebSocket from 'ws';
import { PRESENCE_NAMES } from '../imports/app/wire-contract';

export interface FreshClientResult {
  ok: boolean;
  detail: string;
}

export function freshClientCheck(url: string, localAddress: string, timeoutMs: number): Promise<FreshClientResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
    let session: string | null = null;
    const finish = (ok: boolean, detail: string) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => finish(false, `no answer within ${timeoutMs} ms${session ? ' (connected, method unanswered)' : ''}`), timeoutMs);
    ws.once('open', () => ws.send(JSON.stringify({ msg: 'connect', version: '1', support: ['1'] })));
    ws.on('message', (data) => {
      let frame: { msg?: string; session?: string; id?: string; result?: unknown; error?: unknown };
      try {
        frame = JSON.parse(data.toString());
      } catch {
        return finish(false, `unparseable frame ${data.toString().slice(0, 40)}`);
      }
      if (frame.msg === 'connected') {
        session = frame.session ?? null;
        ws.send(JSON.stringify({ msg: 'method', id: '1', method: PRESENCE_NAMES.getSessionIdMethod, params: [] }));
      } else if (frame.msg === 'result' && frame.id === '1') {
        const ms = (performance.now() - started).toFixed(0);
        if (frame.result === session) finish(true, `ok in ${ms} ms`);
        else finish(false, `getSessionId answered ${JSON.stringify(frame.error ?? frame.result).slice(0, 80)}`);
      } else if (frame.msg === 'failed' || frame.msg === 'error') finish(false, `server said ${data.toString().slice(0, 80)}`);
    });
    ws.once('unexpected-response', (_req, res) => finish(false, `HTTP ${res.statusCode}`));
    ws.once('error', (error) => finish(false, error.message));
    ws.once('close', (code) => finish(false, `closed (${code})`));
  });
}
