import type { Server } from 'node:http';
import { AggregatorRegistry, register } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { CallStats } from '../grpc/call-stats.js';
import { ConnectionStats } from '../grpc/connection-guard.js';
import { GrpcServer } from '../grpc/grpc-server.js';
import { listenHttp } from '../http/listen.js';
import { createRedirectHttpServer } from '../http/redirect-http-server.js';
import { RedirectRouter } from '../routing/redirect-router.js';
import { startMetricsServer } from '../telemetry/metrics-server.js';
import { registerWorkerMetrics } from '../telemetry/worker-metrics.js';
import { registerCdnHealthMetrics } from '../cdn-health/cdn-health-metrics.js';
import { startCdnProber, type CdnProber } from '../cdn-health/cdn-prober.js';
import { isCdnUpMessage } from '../cdn-health/cdn-up-message.js';
import { isDrainMessage, isSyncReply, type ReadyMessage, type SyncRequest } from './messages.js';

/** Exit code of a worker that could not start serving (e.g. the port is taken). */
const EXIT_CANNOT_LISTEN = 3;
/** After draining, how long a worker may take to flush and end by itself before it is ended. */
const EXIT_BACKSTOP_MS = 2000;

export interface WorkerOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Under pm2 the ready signal is the string `ready` (`wait_ready`); under our supervisor a message. */
  readonly readySignal: 'cluster' | 'pm2';
}

/**
 * One serving process: a gRPC server with its own routing rotation. Drains and exits 0 on
 * SIGTERM, SIGINT, a drain message from the supervisor, or when the supervisor goes away.
 */
export async function runWorker({ config, logger, readySignal }: WorkerOptions): Promise<void> {
  const router = new RedirectRouter(config);
  // METRICS_PORT=0: nobody scrapes, so nothing is counted either (and no event-loop monitor runs).
  const stats = config.metricsPort > 0 ? new CallStats() : undefined;
  const connectionStats = new ConnectionStats();
  if (stats) {
    registerWorkerMetrics(register, stats, router, connectionStats);
    // Under our supervisor the primary serves /metrics for all workers; it asks each worker over
    // IPC, and a worker answers only once an AggregatorRegistry exists in it.
    if (readySignal === 'cluster') new AggregatorRegistry();
  }
  let prober: CdnProber | undefined;
  if (config.cdnHealth) {
    const applyCdnUp = (up: readonly boolean[]): void => {
      router.setCdnUp(up);
      logger.info({ up: config.cdnHosts.filter((_, i) => up[i]).map((h) => h.baseUrl) }, 'CDN hosts that are up changed');
    };
    if (readySignal === 'cluster') {
      // Every change from the primary's prober, and before serving, the state it has now.
      process.on('message', (message) => {
        if (isCdnUpMessage(message)) applyCdnUp(message.up);
      });
      const latest = await syncWithSupervisor();
      if (isCdnUpMessage(latest)) applyCdnUp(latest.up);
    } else {
      // Under pm2 each instance is the machine's prober for itself.
      prober = await startCdnProber(config.cdnHosts, config.cdnHealth, logger, applyCdnUp);
      if (stats) registerCdnHealthMetrics(register, prober, config.cdnHosts);
    }
  }
  const server = new GrpcServer({
    host: config.grpcHost,
    port: config.grpcPort,
    router,
    logger,
    connectionLimits: config.connection,
    stats,
    connectionStats,
    tls: config.tls,
    // Every worker (or pm2 instance) has its own socket on the port: no connection ever waits
    // in the primary for a handoff that a dying worker will not answer.
    reusePort: true,
    // Spans come from grpc-js's instrumentation, so with tracing on Redirect goes through grpc-js.
    hotPath: config.hotPath && config.tracing === undefined,
  });

  let port: number;
  try {
    port = await server.listen();
  } catch (error) {
    logger.fatal({ err: error }, `cannot listen on ${config.grpcHost}:${config.grpcPort}: ${(error as Error).message}`);
    process.exit(EXIT_CANNOT_LISTEN);
  }
  let httpServer: Server | undefined;
  if (config.httpPort > 0) {
    httpServer = createRedirectHttpServer(router, logger);
    try {
      const httpPort = await listenHttp(httpServer, config.grpcHost, config.httpPort, { reusePort: true });
      logger.info({ host: config.grpcHost, port: httpPort }, 'HTTP front door listening on /redirect');
    } catch (error) {
      logger.fatal({ err: error }, `cannot listen on HTTP_PORT ${config.grpcHost}:${config.httpPort}: ${(error as Error).message}`);
      process.exit(EXIT_CANNOT_LISTEN);
    }
  }
  const redirectPath = server.redirectPath;
  if (config.hotPath && config.tracing) {
    logger.info('tracing is on: Redirect is served through grpc-js, whose instrumentation makes the spans');
  } else if (config.hotPath && redirectPath !== 'hot path') {
    logger.warn('the Redirect hot path did not engage (this @grpc/grpc-js has moved its internals); serving Redirect through grpc-js');
  }
  if (!server.headerLimitsApplied) {
    logger.warn('MAX_HEADER_LIST_BYTES is not applied (this @grpc/grpc-js has moved its internals); node:http2 defaults apply');
  }
  logger.info({ host: config.grpcHost, port, redirectPath }, 'worker listening');

  let draining = false;
  // Under pm2 there is no primary to aggregate: each instance serves its own metrics.
  let metricsServer: Server | undefined;
  if (config.pm2 && stats) {
    const metricsPort = config.metricsPort + config.pm2.instance;
    metricsServer = await startMetricsServer(
      config.metricsHost,
      metricsPort,
      { metrics: () => register.metrics(), contentType: register.contentType, healthy: () => !draining },
      logger,
    ).catch((error: unknown) => {
      logger.error({ err: error, port: metricsPort }, 'cannot serve metrics; serving gRPC without them');
      return undefined;
    });
  }
  const drain = (reason: string): void => {
    if (draining) return;
    draining = true;
    logger.info({ reason, timeoutMs: config.shutdownTimeoutMs }, 'worker draining');
    httpServer?.close();
    httpServer?.closeIdleConnections();
    void server.drain(config.shutdownTimeoutMs).then((finished) => {
      httpServer?.closeAllConnections();
      if (finished) logger.info('worker drained');
      else logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'worker drain timed out; calls in flight were cut off');
      // End by running out of work rather than process.exit(), so that log lines still in
      // flight (pm2 collects them asynchronously) are written; the timer is a backstop.
      process.exitCode = 0;
      metricsServer?.close();
      prober?.stop();
      if (process.connected) process.disconnect();
      setTimeout(() => process.exit(0), EXIT_BACKSTOP_MS).unref();
    });
  };
  process.on('SIGTERM', () => drain('SIGTERM'));
  process.on('SIGINT', () => drain('SIGINT'));
  process.on('message', (message) => {
    if (isDrainMessage(message)) drain('supervisor');
  });
  process.on('disconnect', () => drain('supervisor gone'));

  if (readySignal === 'cluster') process.send?.({ type: 'ready', port } satisfies ReadyMessage);
  else process.send?.('ready');
}

/** Asks the supervisor for the latest broadcast; undefined if it does not answer in time. */
function syncWithSupervisor(timeoutMs = 2000): Promise<unknown> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isSyncReply(message)) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(message.latest);
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      resolve(undefined);
    }, timeoutMs);
    process.on('message', onMessage);
    process.send?.({ type: 'sync' } satisfies SyncRequest);
  });
}
