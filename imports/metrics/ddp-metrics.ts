import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DdpServer } from '../ddp/ddp-server';
import type { TransportName } from '../ddp/server-observers';
import type { SessionCloseReason } from '../ddp/session';
import type { MetricsOptions } from './metrics-options';

/** The fixed set of `ddp_disconnects_total` reasons: never a free string, so the series stay few. */
export type DisconnectReason = 'client_closed' | 'heartbeat_timeout' | 'closed_by_app' | 'limit_exceeded' | 'server_shutdown' | 'other';

/** Why a session closed (session.ts), grouped; a reason added there later counts as `other` until named here. */
const DISCONNECT_REASONS: { readonly [K in SessionCloseReason]?: DisconnectReason } = {
  'transport closed': 'client_closed',
  'heartbeat timeout': 'heartbeat_timeout',
  'idle timeout': 'heartbeat_timeout', // pre1's silence timer: the same "client went quiet"
  'closed by app': 'closed_by_app',
  'inbound queue overflow': 'limit_exceeded',
  'too many pending methods': 'limit_exceeded',
  'too many subscriptions': 'limit_exceeded',
  'server shutdown': 'server_shutdown',
};
const ALL_REASONS: DisconnectReason[] = ['client_closed', 'heartbeat_timeout', 'closed_by_app', 'limit_exceeded', 'server_shutdown', 'other'];
const TRANSPORTS: TransportName[] = ['websocket', 'sockjs'];

/**
 * The DDP server's metrics. Gauges are computed when scraped, from the live
 * sessions (O(sessions) per scrape, a few ms at 100k); counters and the
 * histogram follow the server's observers (server-observers.ts).
 *
 * Labels are bounded: transports and reasons are fixed sets; method and
 * publication names are those registered on the server (a client calling an
 * unknown name never reaches the observers nor the rate limiter). No session
 * id or address is ever a label. Returns a stop for the observers.
 */
export function registerDdpMetrics(registry: Registry, ddp: DdpServer, options: MetricsOptions): () => void {
  const registers = [registry];
  new Gauge({
    name: 'ddp_sessions',
    help: 'Open DDP sessions, by transport',
    labelNames: ['transport'],
    registers,
    collect() {
      const counts = new Map<TransportName, number>(TRANSPORTS.map((t) => [t, 0]));
      for (const session of ddp.openSessions) counts.set(session.transport, (counts.get(session.transport) ?? 0) + 1);
      for (const [transport, n] of counts) this.set({ transport }, n);
    },
  });
  new Gauge({
    name: 'ddp_subscriptions',
    help: 'Live subscriptions, by registered publication name',
    labelNames: ['name'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>([...ddp.publishHandlers.keys()].map((name) => [name, 0]));
      for (const session of ddp.openSessions) {
        for (const name of session.subscriptionNames()) if (counts.has(name)) counts.set(name, counts.get(name)! + 1);
      }
      for (const [name, n] of counts) this.set({ name }, n);
    },
  });
  new Counter({
    name: 'ddp_rate_limited_total',
    help: 'Method calls and subscriptions refused by a rate limit, by type and registered name',
    labelNames: ['type', 'name'],
    registers,
    collect() {
      // The server keeps the running totals (rate-limiter.ts); mirror them.
      this.reset();
      const { method, subscription } = ddp.rateLimitedCount;
      for (const [name, n] of method) if (ddp.methodHandlers.has(name)) this.inc({ type: 'method', name }, n);
      for (const [name, n] of subscription) if (ddp.publishHandlers.has(name)) this.inc({ type: 'subscription', name }, n);
    },
  });

  const connects = new Counter({ name: 'ddp_connects_total', help: 'DDP sessions opened (after a successful connect)', labelNames: ['transport'], registers });
  const disconnects = new Counter({ name: 'ddp_disconnects_total', help: 'DDP sessions closed, by reason', labelNames: ['reason'], registers });
  const durations = new Histogram({
    name: 'ddp_method_duration_seconds',
    help: 'Time in registered method handlers, by method',
    labelNames: ['method'],
    buckets: options.methodDurationBuckets,
    registers,
  });
  for (const transport of TRANSPORTS) connects.inc({ transport }, 0);
  for (const reason of ALL_REASONS) disconnects.inc({ reason }, 0);

  const handle = ddp.observers.add({
    sessionOpened: (transport) => connects.inc({ transport }),
    sessionClosed: (_transport, reason) => disconnects.inc({ reason: DISCONNECT_REASONS[reason] ?? 'other' }),
    methodFinished: (method, seconds) => {
      if (ddp.methodHandlers.has(method)) durations.observe({ method }, seconds);
    },
  });
  return () => handle.stop();
}
