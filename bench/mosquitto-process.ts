/**
 * A mosquitto for the convergence scenario, with the broker's defaults: the
 * config holds only `listener`, `allow_anonymous true`, `persistence false`
 * (so `max_queued_messages` 1000, `max_inflight_messages` 20, `sys_interval`
 * 10 s), plus `log_dest stderr` so its own notices ("Outgoing messages are
 * being dropped for client …") land in the report. Unlike the tests' helper
 * it can be SIGKILLed and started again on the same port, and it keeps its
 * log lines with their arrival times.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../tests/helpers/brokers';

export const MOSQUITTO_BINARY = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

export interface BrokerLogLine {
  at: number;
  run: number;
  line: string;
}

export class MosquittoProcess {
  /** 1 for the first start, +1 for each restart. */
  run = 0;
  readonly log: BrokerLogLine[] = [];
  private child: ChildProcess | null = null;

  private constructor(readonly port: number, private readonly conf: string) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<MosquittoProcess> {
    if (!MOSQUITTO_BINARY) throw new Error('mosquitto is not installed');
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
    const broker = new MosquittoProcess(port, conf);
    await broker.launch();
    return broker;
  }

  /** Start again on the same port (after `kill`). */
  async launch(): Promise<void> {
    const run = ++this.run;
    const child = spawn(MOSQUITTO_BINARY!, ['-c', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let rest = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line && this.log.length < 2000) this.log.push({ at: Date.now(), run, line });
    });
    await waitForPort(this.port);
  }

  /** SIGKILL: no Will is sent for anyone, retained messages are gone (no persistence). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}
