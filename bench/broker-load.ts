/**
 * How hard mosquitto works, for the fleet section: its CPU from
 * /proc/<pid>/stat (utime + stime), and its counters from its own $SYS
 * topics, which it publishes every `sys_interval` (10 s by default; ~10.9 s
 * apart in practice, so a window needs ~23 s to hold two ticks):
 * `messages/received` and `/sent` (every MQTT packet: PUBLISH, PUBACK,
 * PINGREQ…) and `publish/messages/sent` (PUBLISH only: the fan-out). Not
 * `publish/messages/received`: mosquitto 2.0.11 leaves it at 0 for retained
 * QoS 1 publishes, which is all the instances send.
 * Rates are taken between $SYS ticks, not
 * from `$SYS/broker/load/…/1min` (a moving average that would smear the ramp
 * into the steady state).
 *
 * Why the pid is looked up: tests/helpers/brokers.ts's startMosquitto does
 * not expose its child, and this file may not change it. The broker is the
 * child of this process named `mosquitto` that holds the listening socket of
 * its port (/proc/net/tcp), so another bench's broker is never mistaken for it.
 *
 * Example: `const load = await BrokerLoad.start(broker.url, broker.port); const a = load.mark(); …; load.between(a, load.mark())`.
 * Caveat: Linux only; elsewhere `cpuPercent` is null.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { execSync } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';
import type { BrokerLoadFigure } from './fleet-results-types';

/** Kernel clock ticks per second, the unit of utime/stime. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface LoadMark {
  at: number;
  cpuTicks: number | null;
}

interface Tick {
  at: number;
  value: number;
}

const COUNTERS = {
  received: '$SYS/broker/messages/received',
  sent: '$SYS/broker/messages/sent',
  publishSent: '$SYS/broker/publish/messages/sent',
} as const;
type Counter = keyof typeof COUNTERS;
const COUNTER_OF = new Map<string, Counter>(Object.entries(COUNTERS).map(([name, topic]) => [topic, name as Counter]));

export class BrokerLoad {
  private readonly ticks: Record<Counter, Tick[]> = { received: [], sent: [], publishSent: [] };

  private constructor(private readonly client: MqttClient, readonly pid: number | null) {}

  static async start(url: string, port: number): Promise<BrokerLoad> {
    const client = mqtt.connect(url, { clientId: `bench-load-${process.pid}`, clean: true, reconnectPeriod: 1000, connectTimeout: 5000 });
    const load = new BrokerLoad(client, brokerPid(port));
    client.on('error', () => {});
    client.on('message', (topic, payload) => {
      const value = Number(payload.toString());
      if (!Number.isFinite(value)) return;
      const counter = COUNTER_OF.get(topic);
      if (counter) load.ticks[counter].push({ at: Date.now(), value });
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(Object.fromEntries(Object.values(COUNTERS).map((topic) => [topic, { qos: 0 as const }])));
    return load;
  }

  mark(): LoadMark {
    return { at: Date.now(), cpuTicks: this.pid === null ? null : cpuTicks(this.pid) };
  }

  between(from: LoadMark, to: LoadMark): BrokerLoadFigure {
    const seconds = (to.at - from.at) / 1000;
    const cpu = from.cpuTicks !== null && to.cpuTicks !== null && seconds > 0 ? ((to.cpuTicks - from.cpuTicks) / CLOCK_TICKS / seconds) * 100 : null;
    const perSecond = (counter: Counter) => rate(this.ticks[counter], from.at, to.at)?.perSecond ?? null;
    return {
      seconds: Math.round(seconds * 10) / 10,
      cpuPercent: cpu === null ? null : Math.round(cpu * 10) / 10,
      receivedPerSecond: perSecond('received'),
      sentPerSecond: perSecond('sent'),
      publishSentPerSecond: perSecond('publishSent'),
      sysSpanSeconds: rate(this.ticks.received, from.at, to.at)?.spanSeconds ?? null,
    };
  }

  close(): void {
    this.client.end(true);
  }
}

/** The counter's growth per second between the first and the last tick inside [from, to]. */
function rate(ticks: readonly Tick[], from: number, to: number): { perSecond: number; spanSeconds: number } | null {
  const inside = ticks.filter((t) => t.at >= from && t.at <= to);
  if (inside.length < 2) return null;
  const first = inside[0]!;
  const last = inside.at(-1)!;
  const spanSeconds = (last.at - first.at) / 1000;
  if (spanSeconds <= 0) return null;
  return { perSecond: Math.round((last.value - first.value) / spanSeconds), spanSeconds: Math.round(spanSeconds) };
}

function cpuTicks(pid: number): number | null {
  try {
    // Fields after the command (which may hold spaces), from `) `: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** This process's `mosquitto` child listening on `port`, or null (not Linux, or not found). */
function brokerPid(port: number): number | null {
  try {
    const inode = listeningInode(port);
    if (inode === null) return null;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // gone
      }
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'mosquitto' && ppid === process.pid && holdsSocket(pid, inode)) return pid;
    }
  } catch {
    // not Linux
  }
  return null;
}

/** The inode of the IPv4 socket listening on `port` (state 0A in /proc/net/tcp). */
function listeningInode(port: number): string | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A') return cols[9] ?? null;
  }
  return null;
}

function holdsSocket(pid: number, inode: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}
