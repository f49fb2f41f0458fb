/**
 * Attack 3: ask for the dashboard page and hang up at once (connect, write
 * `GET / HTTP/1.1`, destroy), in a loop. The server must release whatever
 * it opened for the response (the file) when the client is gone.
 *
 * The attacker closes first, so its side keeps TIME_WAIT ports: past ~28,000
 * connections in 60 s its own address runs out (EADDRNOTAVAIL, counted as
 * errors, with a short back-off).
 */
import { connect } from 'node:net';
import type { Deadline } from './deadline';
import { ErrorTally } from './error-tally';
import type { AttackReport, AttackSizes, AttackTarget } from './types';

const LANES = 8;
const REQUEST = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';

function abortOne(target: AttackTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, localAddress: target.localAddress });
    socket.once('connect', () => {
      socket.write(REQUEST);
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

export async function staticAbort(target: AttackTarget, _sizes: AttackSizes, deadline: Deadline): Promise<AttackReport> {
  const errors = new ErrorTally();
  let aborted = 0;
  const lane = async () => {
    while (!deadline.done) {
      try {
        await abortOne(target);
        aborted++;
      } catch (error) {
        if (deadline.done) break;
        errors.add(error);
        await deadline.sleep(20);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: LANES }, lane));
  const rate = aborted / ((performance.now() - started) / 1000);
  return { sent: aborted, unit: 'aborted requests', errors: errors.count, firstError: errors.first, detail: `${aborted} aborted GET / (${rate.toFixed(0)}/s)` };
}
