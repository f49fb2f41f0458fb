import { loadConfigOrExit } from '../config/load-or-exit';
import { handleShutdownSignals } from './graceful-shutdown';
import { startStandaloneApp } from './standalone-app';

/**
 * `npm start`: the presence app on the standalone DDP server.
 * Configuration comes from the environment (see README); `--settings file.json`
 * works as with `meteor --settings`. SIGTERM/SIGINT drain over DRAIN_MS, then
 * exit (graceful-shutdown.ts); a second signal exits at once.
 */
const config = loadConfigOrExit(); // a bad setting: its one line, exit 78
const app = await startStandaloneApp(config);

handleShutdownSignals(app, { drainMs: config.drainMs, log: app.log });
