/**
 * The control run: the same server, held connections, bystander and window
 * as every attack, with an attacker that does nothing. What the server's RSS
 * grows by here (the young generation refilling after the forced GC that
 * sets the baseline, heartbeats, the bystander's own traffic) is not any
 * attacker's doing; the scenario reports each attack's growth over it.
 */
import type { Deadline } from './deadline';
import type { AttackReport, AttackSizes, AttackTarget } from './types';

export async function control(_target: AttackTarget, _sizes: AttackSizes, deadline: Deadline): Promise<AttackReport> {
  while (!deadline.done) await deadline.sleep(1000);
  return { sent: 0, unit: 'nothing', errors: 0, detail: 'no attack: the baseline every attack is compared with' };
}
