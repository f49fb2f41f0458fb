/**
 * The measurement side channel every server under test answers on (Node IPC,
 * so nothing extra rides on the measured sockets): RSS after a forced GC,
 * CPU time used so far, and how many presence records it still holds.
 */
export interface ServerSample {
  rss: number;
  heapUsed: number;
  cpuMicros: number;
  records: number;
  sockets: number;
}

export type Measure = () => { records: number; sockets: number };

export function answerMeasurements(port: number, measure: Measure): void {
  process.on('message', (message: { id: number; type: string }) => {
    if (message.type !== 'sample') return;
    const gc = (globalThis as { gc?: () => void }).gc;
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
