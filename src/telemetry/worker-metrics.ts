import { monitorEventLoopDelay } from 'node:perf_hooks';
import { status } from '@grpc/grpc-js';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { HANDLING_SECONDS_BUCKETS, type CallStats } from '../grpc/call-stats.js';
import { CONNECTION_CLOSE_REASONS, type ConnectionStats } from '../grpc/connection-guard.js';
import { REDIRECT_SERVICE_NAME } from '../grpc/redirect-service.js';
import type { RedirectRouter } from '../routing/redirect-router.js';
import { STEERING_METHODS } from '../routing/steering/steering.js';
import { scrapedMetric, type MetricValue } from './scraped-metric.js';

/** How often the event loop's delay is sampled (prom-client's own monitor uses the same). */
const EVENT_LOOP_RESOLUTION_MS = 10;

const METHOD_LABELS = { grpc_type: 'unary', grpc_service: REDIRECT_SERVICE_NAME, grpc_method: 'Redirect' } as const;

/**
 * A worker's metrics in `registry`, named as go-grpc-prometheus names them so that existing
 * dashboards and alerts work, plus the redirect split and Node.js/process defaults.
 */
export function registerWorkerMetrics(
  registry: Registry,
  stats: CallStats,
  router: RedirectRouter,
  connections: { readonly grpc: ConnectionStats; readonly http: ConnectionStats },
  worker: string,
): void {
  collectDefaultMetrics({ register: registry });
  // nodejs_eventloop_lag_* come out of the primary averaged over the workers, which hides one
  // worker's stall: this one keeps a series per worker (dashboards take the max).
  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  delay.enable();
  // The max is kept here: a histogram's reset also forgets when it last ticked, so a stall right
  // after a scrape would be lost.
  let last = performance.now();
  let maxMs = 0;
  setInterval(() => {
    const now = performance.now();
    maxMs = Math.max(maxMs, now - last);
    last = now;
  }, EVENT_LOOP_RESOLUTION_MS).unref();
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
    scrapedMetric('balancer_redirects_total', 'Redirect answers, by target (the origin server or the CDN), CDN host and its pool.', 'counter', () => [
      { value: router.originAnswers, labels: { target: 'origin' } },
      // The routing's hosts now: a reload may have changed them.
      ...router.hosts.map((host, i) => ({ value: router.cdnAnswers[i] as number, labels: { target: 'cdn', cdn_host: new URL(host.baseUrl).host, pool: host.pool } })),
    ]),
    scrapedMetric('balancer_steering_decisions_total', 'CDN answers by how the viewer\'s pool was chosen: zone, country, continent or default.', 'counter', () =>
      STEERING_METHODS.map((method, i) => ({ value: router.decisions[i] as number, labels: { method } })),
    ),
    scrapedMetric(
      'balancer_worker_eventloop_delay_seconds',
      `Event-loop delay of each worker since the previous scrape (sampled every ${EVENT_LOOP_RESOLUTION_MS} ms): its max and p99.`,
      'gauge',
      () => {
        // The gap between two ticks, of which EVENT_LOOP_RESOLUTION_MS was asked for; the histogram is in nanoseconds.
        const values = [
          { value: Math.max(0, Math.max(maxMs, performance.now() - last) - EVENT_LOOP_RESOLUTION_MS) / 1000, labels: { worker, stat: 'max' } },
          { value: Math.max(0, delay.percentile(99) / 1e6 - EVENT_LOOP_RESOLUTION_MS) / 1000, labels: { worker, stat: 'p99' } },
        ];
        maxMs = 0;
        delay.reset();
        return values;
      },
    ),
    scrapedMetric('balancer_connections_open', 'HTTP/2 connections open on the gRPC port.', 'gauge', () => [{ value: connections.grpc.open, labels: {} }]),
    scrapedMetric(
      'balancer_connections_closed_total',
      'Connections the server closed for abuse or refused at a limit, by reason and port (grpc, or http: the front door; see docs/security.md).',
      'counter',
      () =>
        (['grpc', 'http'] as const).flatMap((port) =>
          CONNECTION_CLOSE_REASONS.map((reason, i) => ({ value: connections[port].closed[i] as number, labels: { reason, port } })),
        ),
    ),
  ];
  for (const metric of metrics) registry.registerMetric(metric);
}
