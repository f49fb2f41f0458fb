/**
 * A process of the attack scenario, on its own 127.0.0.x source address
 * (BENCH_LOCAL_ADDRESS), so its CPU is not the bystander's nor the server's.
 * Driven over IPC (see IpcChild in processes.ts):
 *   attack          run one attack until `seconds` pass or `stop` comes; answer its report
 *   stop            end the running attack early (the server died)
 *   bystander-start connect the bystander and start pinging
 *   bystander-stop  stop pinging; answer the round trips
 */
import { Bystander } from './attack-bystander';
import { Deadline } from './attacks/deadline';
import { attackNamed } from './attacks/registry';
import type { AttackSizes } from './attacks/types';

type Command =
  | { id: number; type: 'attack'; name: string; host: string; port: number; seconds: number; sizes: AttackSizes }
  | { id: number; type: 'stop' }
  | { id: number; type: 'bystander-start'; url: string; intervalMs: number }
  | { id: number; type: 'bystander-stop'; graceMs: number };

const localAddress = process.env.BENCH_LOCAL_ADDRESS ?? '127.0.0.1';
let running: Deadline | null = null;
let bystander: Bystander | null = null;

process.on('message', async (command: Command) => {
  try {
    process.send!({ id: command.id, result: await handle(command) });
  } catch (error) {
    process.send!({ id: command.id, error: (error as Error).message });
  }
});
process.send!({ type: 'ready' });

async function handle(command: Command): Promise<unknown> {
  switch (command.type) {
    case 'attack': {
      const deadline = (running = new Deadline(command.seconds * 1000));
      try {
        return await attackNamed(command.name).run({ host: command.host, port: command.port, localAddress }, command.sizes, deadline);
      } finally {
        running = null;
      }
    }
    case 'stop':
      running?.stop();
      return { stopped: true };
    case 'bystander-start':
      bystander = await Bystander.connect(command.url, localAddress);
      bystander.start(command.intervalMs);
      return { started: true };
    case 'bystander-stop': {
      if (!bystander) throw new Error('no bystander running');
      const report = await bystander.stop(command.graceMs);
      bystander = null;
      return report;
    }
  }
}
