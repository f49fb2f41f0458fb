/**
 * (a) this app (presence on) and (b) the same DDP server with presence off,
 * started exactly as `npm start` does (same function), plus the measurement
 * channel. BENCH_PRESENCE=off selects (b). Other settings come from the
 * usual environment variables (MQTT_URL for the scale-out run).
 * For the convergence scenario: BENCH_VIEW_DIGEST=1 keeps a digest of the
 * view's session ids and adds it and the bridge's status to each sample;
 * BENCH_QUIET_SESSIONS=1 drops the per-connection info lines (as LOG_CONNECTIONS=false), so LOG_LEVEL=info
 * shows the bridge's (resyncs, reconnects) without one line per client.
 * BENCH_GRACEFUL_SHUTDOWN=1 handles SIGTERM as `npm start` does (drain over
 * DRAIN_MS, then exit 0; graceful-shutdown.ts), for the drain section.
 */
import { loadConfig } from '../../imports/config/config';
import { createLogger } from '../../imports/log/logger';
import { handleShutdownSignals } from '../../imports/standalone/graceful-shutdown';
import { startStandaloneApp } from '../../imports/standalone/standalone-app';
import { ViewDigest } from '../view-digest';
import { answerMeasurements } from './ipc';

const config = loadConfig();
const presence = process.env.BENCH_PRESENCE !== 'off';
if (process.env.BENCH_QUIET_SESSIONS === '1') config.logConnections = false;
const app = await startStandaloneApp(config, { presence, log: createLogger(config.logLevel, undefined, { format: config.logFormat }) });
let digest: ViewDigest | null = null;
/** With the digest: how many of the view's records each instance owns (which peer's records a lagging view lacks). */
const perOwner: Record<string, number> = {};
if (process.env.BENCH_VIEW_DIGEST === '1' && app.presence) {
  await app.presence.started;
  const d = new ViewDigest();
  const owners = new Map<string, string>();
  app.presence.view.observe({
    added: (id, fields) => {
      d.add(id);
      const owner = fields.instanceId ?? '?';
      owners.set(id, owner);
      perOwner[owner] = (perOwner[owner] ?? 0) + 1;
    },
    removed: (id) => {
      d.remove(id);
      const owner = owners.get(id);
      owners.delete(id);
      if (owner !== undefined) perOwner[owner]! -= 1;
    },
  });
  digest = d;
}
// The merged presence view: this instance's records plus every other instance's the bridge shows.
answerMeasurements(app.port, () => {
  const status = app.bridge?.status();
  return {
    records: app.presence?.view.count ?? 0,
    sockets: app.ddp.sessionCount,
    ...(digest ? { view: digest.value(), viewByOwner: { ...perOwner } } : {}),
    ...(status ? { bridge: { connected: status.connected, remoteRecords: status.remoteRecords, holdsRecords: status.holdsRecords, resyncs: status.resyncs, rejected: status.rejected as Record<string, number> } } : {}),
  };
});
if (process.env.BENCH_GRACEFUL_SHUTDOWN === '1') handleShutdownSignals(app, { drainMs: config.drainMs, log: app.log });
else process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
