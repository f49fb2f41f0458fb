import { Gauge, Histogram, type Registry } from 'prom-client';
import type { PresenceApp } from '../app/presence';
import type { MqttBridge } from '../mqtt/mqtt-bridge';
import type { MetricsOptions } from './metrics-options';

/**
 * The presence app's metrics: records in the view by origin, monitors of
 * `list.connectedUsers`, and how long a closed connection's record lingers.
 *
 * `remote` is what the bridge holds of other instances' records (only while
 * a monitor looks here, with on-demand records); `local` is the rest of the
 * view, this instance's own (or, sharing one store without a bridge, the
 * whole store). Returns a stop for the removal observer.
 */
export function registerPresenceMetrics(registry: Registry, presence: PresenceApp, bridge: MqttBridge | null, options: MetricsOptions): () => void {
  const registers = [registry];
  new Gauge({
    name: 'presence_records',
    help: 'Connection records in the presence view, by origin',
    labelNames: ['origin'],
    registers,
    collect() {
      const remote = bridge?.status().remoteRecords ?? 0;
      this.set({ origin: 'local' }, Math.max(0, presence.view.count - remote));
      this.set({ origin: 'remote' }, remote);
    },
  });
  new Gauge({
    name: 'presence_monitors',
    help: 'Subscriptions to list.connectedUsers with monitor rights on this instance',
    registers,
    collect() {
      this.set(presence.monitors);
    },
  });
  const closeToRemoval = new Histogram({
    name: 'presence_close_to_removal_seconds',
    help: "From a connection's close to its record's removal from the store",
    buckets: options.closeToRemovalBuckets,
    registers,
  });
  const handle = presence.onRecordRemoved((seconds) => closeToRemoval.observe(seconds));
  return () => handle.stop();
}
