import type { Registry } from 'prom-client';
import type { CdnHost } from '../routing/cdn-pool.js';
import { scrapedMetric } from '../telemetry/scraped-metric.js';
import type { CdnProbers } from './cdn-prober.js';

/**
 * `balancer_cdn_host_up{cdn_host}`, `balancer_cdn_health_checks_total{cdn_host,result}`, and for
 * hosts whose load is read `balancer_cdn_host_load{cdn_host}` and
 * `balancer_cdn_host_over_max_load{cdn_host}`, read when scraped from the prober running then (a
 * reload may replace it, or stop checks altogether).
 */
export function registerCdnHealthMetrics(registry: Registry, currentProber: () => CdnProbers | undefined): void {
  const labelsOf = (hosts: readonly CdnHost[]) => hosts.map((host) => new URL(host.baseUrl).host);
  registry.registerMetric(
    scrapedMetric('balancer_cdn_host_up', 'Whether a CDN host passes its health checks (1) or not (0).', 'gauge', () => {
      const prober = currentProber();
      const labels = labelsOf(prober?.hosts ?? []);
      return (prober?.up ?? []).map((up, i) => ({ value: up ? 1 : 0, labels: { cdn_host: labels[i] as string } }));
    }),
  );
  registry.registerMetric(
    scrapedMetric('balancer_cdn_host_load', "The load a CDN host reported at its last reading (nginx: active connections; Traffic Server: current client connections).", 'gauge', () => {
      const prober = currentProber();
      const labels = labelsOf(prober?.hosts ?? []);
      return (prober?.loads ?? []).flatMap((load, i) => (load === undefined ? [] : [{ value: load, labels: { cdn_host: labels[i] as string } }]));
    }),
  );
  registry.registerMetric(
    scrapedMetric('balancer_cdn_host_over_max_load', 'Whether a CDN host read over its maxLoad (1: it gets no new viewers) or not (0).', 'gauge', () => {
      const prober = currentProber();
      const labels = labelsOf(prober?.hosts ?? []);
      return (prober?.hosts ?? []).flatMap((host, i) => (host.maxLoad === undefined ? [] : [{ value: prober?.overMax[i] ? 1 : 0, labels: { cdn_host: labels[i] as string } }]));
    }),
  );
  registry.registerMetric(
    scrapedMetric('balancer_cdn_health_checks_total', 'CDN host health checks, by result.', 'counter', () => {
      const prober = currentProber();
      const labels = labelsOf(prober?.hosts ?? []);
      return (prober?.checks ?? []).flatMap((count, i) => [
        { value: count.success, labels: { cdn_host: labels[i] as string, result: 'success' } },
        { value: count.failure, labels: { cdn_host: labels[i] as string, result: 'failure' } },
      ]);
    }),
  );
}
