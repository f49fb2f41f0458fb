/**
 * Every limit of the metrics endpoint, in one object (README "Metrics").
 * Buckets are upper bounds in seconds; Prometheus adds `+Inf`.
 */
export interface MetricsOptions {
  /** Where the standalone HTTP server answers scrapes; not under ROOT_URL's path prefix (scrapers reach the instance directly). */
  path: string;
  /** `ddp_method_duration_seconds`: methods here answer in microseconds to a few ms, a slow store in tens of ms. */
  methodDurationBuckets: number[];
  /** `presence_close_to_removal_seconds`: memory removes within a turn, MongoDB within a round trip or two. */
  closeToRemovalBuckets: number[];
  /** Node's default metrics (event-loop lag, heap, GC) with this registry. */
  defaultMetrics: boolean;
}

export const defaultMetricsOptions: MetricsOptions = {
  path: '/metrics',
  methodDurationBuckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  closeToRemovalBuckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
  defaultMetrics: true,
};
