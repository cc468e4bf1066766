import { status } from '@grpc/grpc-js';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { HANDLING_SECONDS_BUCKETS, type CallStats } from '../grpc/call-stats.js';
import { CONNECTION_CLOSE_REASONS, type ConnectionStats } from '../grpc/connection-guard.js';
import { REDIRECT_SERVICE_NAME } from '../grpc/redirect-service.js';
import type { RedirectRouter } from '../routing/redirect-router.js';
import { scrapedMetric, type MetricValue } from './scraped-metric.js';

const METHOD_LABELS = { grpc_type: 'unary', grpc_service: REDIRECT_SERVICE_NAME, grpc_method: 'Redirect' } as const;

/**
 * A worker's metrics in `registry`, named as go-grpc-prometheus names them so that existing
 * dashboards and alerts work, plus the redirect split and Node.js/process defaults.
 */
export function registerWorkerMetrics(registry: Registry, stats: CallStats, router: RedirectRouter, connections: ConnectionStats): void {
  collectDefaultMetrics({ register: registry });
  const metrics = [
    scrapedMetric('grpc_server_started_total', 'Total number of RPCs started on the server.', 'counter', () => [
      { value: stats.started, labels: { ...METHOD_LABELS } },
    ]),
    scrapedMetric('grpc_server_handled_total', 'Total number of RPCs completed on the server, regardless of success or failure.', 'counter', () =>
      [...stats.handled.keys()]
        .filter((code) => (stats.handled[code] as number) > 0 || code === status.OK)
        .map((code) => ({ value: stats.handled[code] as number, labels: { ...METHOD_LABELS, grpc_code: status[code] as string } })),
    ),
    scrapedMetric('grpc_server_handling_seconds', 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.', 'histogram', () => {
      const values: MetricValue[] = [];
      let cumulative = 0;
      HANDLING_SECONDS_BUCKETS.forEach((le, i) => {
        cumulative += stats.handlingBuckets[i] as number;
        values.push({ value: cumulative, labels: { ...METHOD_LABELS, le }, metricName: 'grpc_server_handling_seconds_bucket' });
      });
      cumulative += stats.handlingBuckets[HANDLING_SECONDS_BUCKETS.length] as number;
      values.push({ value: cumulative, labels: { ...METHOD_LABELS, le: '+Inf' }, metricName: 'grpc_server_handling_seconds_bucket' });
      values.push({ value: stats.handlingSecondsSum, labels: { ...METHOD_LABELS }, metricName: 'grpc_server_handling_seconds_sum' });
      values.push({ value: cumulative, labels: { ...METHOD_LABELS }, metricName: 'grpc_server_handling_seconds_count' });
      return values;
    }),
    scrapedMetric('balancer_redirects_total', 'Redirect answers, by target (the origin server or the CDN) and CDN host.', 'counter', () => [
      { value: router.originAnswers, labels: { target: 'origin' } },
      // The routing's hosts now: a reload may have changed them.
      ...router.rule.cdnHosts.map((host, i) => ({ value: router.cdnAnswers[i] as number, labels: { target: 'cdn', cdn_host: new URL(host.baseUrl).host } })),
    ]),
    scrapedMetric('balancer_connections_open', 'HTTP/2 connections open on the gRPC port.', 'gauge', () => [{ value: connections.open, labels: {} }]),
    scrapedMetric(
      'balancer_connections_closed_total',
      'Connections the server closed for abuse or refused at a limit, by reason (see docs/security.md).',
      'counter',
      () => CONNECTION_CLOSE_REASONS.map((reason, i) => ({ value: connections.closed[i] as number, labels: { reason } })),
    ),
  ];
  for (const metric of metrics) registry.registerMetric(metric);
}
