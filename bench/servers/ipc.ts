/**
 * The measurement side channel every server under test answers on (Node IPC,
 * so nothing extra rides on the measured sockets): RSS after a forced GC,
 * CPU time used so far, and how many presence records it still holds.
 */
import type { ViewDigestValue } from '../view-digest';

export interface ServerSample {
  rss: number;
  heapUsed: number;
  cpuMicros: number;
  records: number;
  sockets: number;
  /** Convergence scenario only (BENCH_VIEW_DIGEST=1): digest of the view's session ids, and the bridge's status. */
  view?: ViewDigestValue;
  /** The view's records per owning instance id. */
  viewByOwner?: Record<string, number>;
  bridge?: { connected: boolean; remoteRecords: number; holdsRecords: boolean; resyncs: number; rejected: Record<string, number> };
}

export type Measure = () => Pick<ServerSample, 'records' | 'sockets' | 'view' | 'viewByOwner' | 'bridge'>;

export function answerMeasurements(port: number, measure: Measure): void {
  process.on('message', (message: { id: number; type: string; gc?: boolean }) => {
    if (message.type !== 'sample') return;
    // `gc: false`: a cheap poll (the convergence scenario samples every 100 ms; a forced GC of a large heap would perturb it).
    const gc = message.gc === false ? undefined : (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    const sample: ServerSample = {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      cpuMicros: cpu.user + cpu.system,
      ...measure(),
    };
    process.send!({ id: message.id, sample });
  });
  process.send!({ type: 'ready', port });
}
