import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The app as a real child process (what `npm start` runs), for tests that
 * must kill -9 it or signal it (`child.kill('SIGTERM')`; `exited` resolves with its code). Its URL is read from the "Listening" log line.
 */
export interface AppProcess {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  output: string[];
  /** Resolves when the process exits: its code (null if killed by a signal) and when. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

const MAIN = fileURLToPath(new URL('../../imports/standalone/main.ts', import.meta.url));

export async function spawnApp(env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    // DRAIN_MS 0: SIGTERM closes every session at once, as before the drain existed; drain tests set their own.
    env: { ...process.env, PORT: '0', BIND_IP: '127.0.0.1', LOG_LEVEL: 'info', DRAIN_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('app did not start: ' + output.join('\n'))), 15_000);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        output.push(line);
        const match = line.includes('Listening') && line.match(/"url":"([^"]+)"/);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`app exited with ${code}: ${output.join('\n')}`)));
  });
  return {
    url,
    wsUrl: url.replace('http', 'ws') + '/websocket',
    child,
    output,
    exited,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}
