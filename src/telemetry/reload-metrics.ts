import type { Registry } from 'prom-client';
import type { RoutingConfig } from '../config/routing-config.js';
import type { ReloadStatus } from '../config/routing-reloader.js';
import { scrapedMetric } from './scraped-metric.js';

/** The status of a process whose routing never reloads (no CONFIG_FILE): what it started with. */
export function staticReloadStatus(routing: RoutingConfig, startedSeconds = Date.now() / 1000): () => ReloadStatus {
  return () => ({ lastReloadSuccessful: true, lastSuccessSeconds: startedSeconds, routingId: routing.id });
}

/**
 * As Prometheus reports its own: `balancer_config_last_reload_successful` (0/1),
 * `balancer_config_last_reload_success_timestamp_seconds`, and `balancer_config_info{routing_id}`
 * naming the routing that serves.
 */
export function registerReloadMetrics(registry: Registry, status: () => ReloadStatus): void {
  registry.registerMetric(
    scrapedMetric('balancer_config_last_reload_successful', 'Whether the last routing reload applied (1) or was refused (0).', 'gauge', () => [
      { value: status().lastReloadSuccessful ? 1 : 0, labels: {} },
    ]),
  );
  registry.registerMetric(
    scrapedMetric('balancer_config_last_reload_success_timestamp_seconds', 'When the routing last reloaded (or the process started), in Unix seconds.', 'gauge', () => [
      { value: status().lastSuccessSeconds, labels: {} },
    ]),
  );
  registry.registerMetric(
    scrapedMetric('balancer_config_info', 'The routing that serves: its identifier (a hash of the settings).', 'gauge', () => [
      { value: 1, labels: { routing_id: status().routingId } },
    ]),
  );
}
