/**
 * A server process's resident memory, read from /proc (Linux) so that
 * watching it costs the server nothing (the IPC `sample` forces a GC, which
 * would stall the very latency being measured). The peak comes from the
 * kernel's high-water mark (VmHWM), reset at `start()` through
 * /proc/<pid>/clear_refs, and from polling, in case the reset is refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null; // gone
  }
}

export function rssBytes(pid: number): number | null {
  return statusKb(pid, 'VmRSS');
}

export class PeakRssWatch {
  private peak = 0;
  private hwmReset = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pid: number) {}

  start(intervalMs = 100): void {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5'); // 5: reset the peak RSS (Linux ≥ 4.0)
      this.hwmReset = true;
    } catch {
      this.hwmReset = false;
    }
    const poll = () => void (this.peak = Math.max(this.peak, rssBytes(this.pid) ?? 0));
    poll();
    this.timer = setInterval(poll, intervalMs);
  }

  /** The highest RSS seen since start(), in bytes (null if the process was never readable). */
  stop(): number | null {
    if (this.timer) clearInterval(this.timer);
    const hwm = this.hwmReset ? statusKb(this.pid, 'VmHWM') : null;
    const peak = Math.max(this.peak, hwm ?? 0);
    return peak || null;
  }
}
