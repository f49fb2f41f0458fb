import { collectDefaultMetrics, Registry } from 'prom-client';
import type { PresenceApp } from '../app/presence';
import type { DdpServer } from '../ddp/ddp-server';
import type { MqttBridge } from '../mqtt/mqtt-bridge';
import { registerBridgeMetrics } from './bridge-metrics';
import { registerDdpMetrics } from './ddp-metrics';
import { defaultMetricsOptions, type MetricsOptions } from './metrics-options';
import { registerPresenceMetrics } from './presence-metrics';

/**
 * One Prometheus registry per server instance, never prom-client's global
 * one: tests and the benchmark run several instances in one process, and
 * each must report only its own sessions.
 *
 * Example:
 *   const metrics = createServerMetrics({ ddp, presence, bridge });
 *   res.end(await metrics.registry.metrics());
 *   metrics.stop();
 *
 * It only observes: ddp/, app/ and mqtt/ expose what it reads and never
 * import it (ARCHITECTURE.md, "Operations live at the edge").
 */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Detach from the server's and the app's observers. */
  stop(): void;
}

export interface MetricsSources {
  ddp: DdpServer;
  /** Null runs the bare DDP server (no presence metrics). */
  presence: PresenceApp | null;
  /** Null without MQTT_URL (no bridge metrics). */
  bridge: MqttBridge | null;
}

export function createServerMetrics(sources: MetricsSources, overrides: Partial<MetricsOptions> = {}): ServerMetrics {
  const options = { ...defaultMetricsOptions, ...overrides };
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const stops = [registerDdpMetrics(registry, sources.ddp, options)];
  if (sources.presence) stops.push(registerPresenceMetrics(registry, sources.presence, sources.bridge, options));
  if (sources.bridge) registerBridgeMetrics(registry, sources.bridge);
  return {
    registry,
    stop() {
      for (const stop of stops.splice(0)) stop();
    },
  };
}
