/**
 * Readiness (`/readyz`) as a pure decision: the instance should get new
 * clients only when it listens, its store is ready (presence cleared its
 * stale records: `presence.started` resolved), its MQTT bridge is connected
 * (or not configured), and it is not draining for shutdown.
 *
 * Why pure: the HTTP route and the tests read the same answer, and each
 * reason is a typed value, not a string built ad hoc.
 *
 * Example: `readiness({ listening: true, storeReady: true, mqtt: 'not configured', draining: false })`
 * → `{ ready: true, reasons: [] }`.
 *
 * Caveat: a bridge that lost its broker makes the instance unready, so a
 * broker outage takes every instance out of rotation at once; the load
 * balancer should fail open when nothing is ready (Kubernetes does not).
 */
export type NotReadyReason = 'not listening' | 'store not ready' | 'mqtt not connected' | 'draining';

export interface ReadinessInputs {
  listening: boolean;
  storeReady: boolean;
  mqtt: 'connected' | 'disconnected' | 'not configured';
  draining: boolean;
}

export interface Readiness {
  ready: boolean;
  reasons: NotReadyReason[];
}

export function readiness(inputs: ReadinessInputs): Readiness {
  const reasons: NotReadyReason[] = [];
  if (inputs.draining) reasons.push('draining');
  if (!inputs.listening) reasons.push('not listening');
  if (!inputs.storeReady) reasons.push('store not ready');
  if (inputs.mqtt === 'disconnected') reasons.push('mqtt not connected');
  return { ready: reasons.length === 0, reasons };
}
