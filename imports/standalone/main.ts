import { loadConfig } from '../config/config';
import { startStandaloneApp } from './standalone-app';

/**
 * `npm start`: the presence app on the standalone DDP server.
 * Configuration comes from the environment (see README); `--settings file.json`
 * works as with `meteor --settings`.
 */
const config = loadConfig();
const app = await startStandaloneApp(config);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    app.log.info('Shutting down', { signal });
    void app.close().then(() => process.exit(0));
  });
}
