/**
 * A server's V8 CPU profiler, driven over the inspector protocol: the
 * server runs with NODE_OPTIONS=--inspect=127.0.0.1:0 (Node refuses
 * --cpu-prof there) and prints the inspector's URL, which `attach` reads.
 * Profiles are written as `<dir>/<name>.cpuprofile` (open in Chrome
 * DevTools). Used by the people and fleet sections when asked to profile.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { ServerUnderTest } from './processes';

/** The server's V8 profiler over the inspector protocol (its URL is in the server's stderr). */
export class ServerProfiler {
  private nextId = 1;
  private readonly pending = new Map<number, (result: Record<string, unknown>) => void>();

  private constructor(private readonly ws: WebSocket, private readonly dir: string) {
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown> };
      if (message.id !== undefined) this.pending.get(message.id)?.(message.result ?? {});
    });
  }

  static async attach(server: ServerUnderTest, dir: string): Promise<ServerProfiler> {
    const url = server.process.output.map((line) => /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1]).find(Boolean);
    if (!url) throw new Error('no inspector URL in the server output (start it with NODE_OPTIONS=--inspect=127.0.0.1:0)');
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    mkdirSync(dir, { recursive: true });
    const profiler = new ServerProfiler(ws, dir);
    await profiler.call('Profiler.enable');
    await profiler.call('Profiler.setSamplingInterval', { interval: 200 });
    return profiler;
  }

  start = () => this.call('Profiler.start');

  async stop(name: string): Promise<void> {
    const { profile } = await this.call('Profiler.stop');
    writeFileSync(join(this.dir, `${name}.cpuprofile`), JSON.stringify(profile));
  }

  close = () => this.ws.close();

  private call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
}
