import { AggregatorRegistry, Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { startMetricsServer } from './metrics-server.js';
import { scrapedMetric } from './scraped-metric.js';

/** What the primary's metrics read from the process supervisor. */
export interface SupervisorGauges {
  /** Workers replaced after they died. */
  readonly restarts: number;
  /** Workers listening and not draining. */
  readonly readyWorkers: number;
  /** Whether the shutdown has begun. */
  readonly stopping: boolean;
}

/**
 * The primary's `/metrics`: every worker's metrics summed (prom-client's AggregatorRegistry asks
 * each worker over IPC), followed by the supervisor's own and any `addOwn` registers (the CDN
 * prober's, which runs in the primary).
 */
export async function serveClusterMetrics(
  config: Config,
  supervisor: SupervisorGauges,
  logger: Logger,
  addOwn: (registry: Registry) => void = () => undefined,
): Promise<void> {
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  addOwn(own);
  own.registerMetric(
    scrapedMetric('balancer_worker_restarts_total', 'Workers the supervisor replaced after they died.', 'counter', () => [
      { value: supervisor.restarts, labels: {} },
    ]),
  );
  own.registerMetric(
    scrapedMetric('balancer_workers', 'Worker processes that are listening.', 'gauge', () => [{ value: supervisor.readyWorkers, labels: {} }]),
  );
  await startMetricsServer(
    config.metricsHost,
    config.metricsPort,
    {
      metrics: async () => `${await aggregator.clusterMetrics()}\n${await own.metrics()}`,
      contentType: aggregator.contentType,
      healthy: () => supervisor.readyWorkers > 0 && !supervisor.stopping,
    },
    logger,
  );
}
