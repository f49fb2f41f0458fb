/**
 * (a) this app (presence on) and (b) the same DDP server with presence off,
 * started exactly as `npm start` does (same function), plus the measurement
 * channel. BENCH_PRESENCE=off selects (b). Other settings come from the
 * usual environment variables (MQTT_URL for the scale-out run).
 */
import { loadConfig } from '../../imports/config/config';
import { createLogger } from '../../imports/log/logger';
import { startStandaloneApp } from '../../imports/standalone/standalone-app';
import { answerMeasurements } from './ipc';

const config = loadConfig();
const presence = process.env.BENCH_PRESENCE !== 'off';
const app = await startStandaloneApp(config, { presence, log: createLogger(config.logLevel) });
// The merged presence view: this instance's records plus every other instance's the bridge shows.
answerMeasurements(app.port, () => ({ records: app.presence?.view.count ?? 0, sockets: app.ddp.sessionCount }));
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
