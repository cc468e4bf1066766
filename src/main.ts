import cluster from 'node:cluster';
import { ConfigError } from './config/config-error.js';
import { describeConfig, loadConfig, type Config } from './config/config.js';
import { createLogger } from './logging/logger.js';
import { unsupportedNodeReason } from './runtime/node-version.js';
import type { CdnUpMessage } from './cdn-health/cdn-up-message.js';
import { syncWithSupervisor } from './cluster/sync-with-supervisor.js';
import { readConfiguredRoutingFile, runsUnderPm2 } from './config/config.js';
import { isRoutingAck, isRoutingMessage, type RoutingMessage } from './config/routing-message.js';
import { startRoutingControl } from './config/routing-control.js';
import { watchCertificates } from './config/certificate-watch.js';
import type { ReloadCertificatesMessage } from './cluster/messages.js';
import { nameProcess } from './runtime/process-name.js';
import { tcpMigrateReqEnabled } from './runtime/tcp-migrate.js';

/**
 * Entry point of `npm start`, pm2 and the container. The primary supervises `WORKERS` worker
 * processes; a worker serves gRPC. Under pm2 (which sets `pm_id`) pm2 is the supervisor, so the
 * process serves directly and never forks.
 *
 * The gRPC layer is imported only after tracing has started, so that OpenTelemetry can wrap
 * @grpc/grpc-js as it loads.
 */
async function main(): Promise<void> {
  const unsupported = unsupportedNodeReason(process.version);
  if (unsupported) {
    process.stderr.write(`video-balancer: ${unsupported}\n`);
    process.exit(1);
  }
  let config: Config;
  // A worker serves the routing the primary accepted (it may have refused what the file says now).
  let synced: readonly unknown[] = [];
  let routingText: string | undefined;
  try {
    // pm2's cluster mode makes every instance a cluster worker too, with no supervisor of ours.
    if (cluster.isWorker && !runsUnderPm2(process.env)) {
      synced = await syncWithSupervisor();
      // Until the worker listens for them (loading grpc-js takes a while), later broadcasts wait here.
      process.on('message', holdMessage);
      routingText = synced.find(isRoutingMessage)?.text ?? undefined;
    } else {
      routingText = readConfiguredRoutingFile(process.env);
    }
    config = loadConfig(process.env, routingText);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`video-balancer: invalid configuration: ${error.message}\n`);
    process.exit(1);
  }

  const underPm2 = config.pm2 !== undefined;
  if (underPm2 || cluster.isWorker) {
    const id = config.pm2 ? `pm2-${config.pm2.id}` : cluster.worker?.id;
    nameProcess(config.pm2 ? `pm2 instance ${config.pm2.instance}` : `worker ${cluster.worker?.id}`);
    const logger = createLogger(config.logLevel, { role: 'worker', worker: id }, { viaStdoutStream: underPm2 });
    process.on('uncaughtException', (error) => {
      logger.fatal({ err: error }, 'uncaught exception; worker exiting');
      process.exit(1);
    });
    if (underPm2) {
      logger.info({ node: process.version, config: describeConfig(config) }, 'starting under pm2');
      if (config.pm2?.instance === 0) warnWithoutTcpMigrateReq(logger);
    }
    if (config.tracing) {
      const { startTracing } = await import('./telemetry/tracing.js');
      await startTracing(config.tracing.serviceName);
      logger.info({ endpoint: config.tracing.endpoint }, 'tracing gRPC calls with OpenTelemetry');
    }
    const { runWorker } = await import('./cluster/worker.js');
    await runWorker({
      config,
      env: process.env,
      routingText,
      synced,
      takeHeldMessages: () => {
        process.off('message', holdMessage);
        return heldMessages.splice(0);
      },
      logger,
      readySignal: underPm2 ? 'pm2' : 'cluster',
    });
    return;
  }

  nameProcess('primary');
  const logger = createLogger(config.logLevel, { role: 'primary' });
  logger.info({ node: process.version, config: describeConfig(config) }, 'starting video-balancer');
  warnWithoutTcpMigrateReq(logger);
  if (config.routing.originAllowList.allowsAnyHost) {
    logger.warn('ORIGIN_HOSTS contains "*": any host is accepted, so every origin answer is an open redirect');
  }
  const { Supervisor } = await import('./cluster/supervisor.js');
  const supervisor = new Supervisor(config, logger);
  try {
    // One CDN prober and reloader per machine: the primary's; workers learn the routing and
    // the up set over IPC, and answer each routing with whether they serve it.
    const control = await startRoutingControl({
      config,
      env: process.env,
      routingText,
      logger,
      publishUp: (up, loads) => supervisor.broadcast({ type: 'cdn-up', up, loads } satisfies CdnUpMessage),
      publish: async (routing, text, cdnUp, cdnLoads) => {
        const message = { type: 'routing', text, cdnUp, cdnLoads, routingId: routing.id } satisfies RoutingMessage;
        const replies = await supervisor.broadcastAndCollect(message, isRoutingAck, ROUTING_ACK_TIMEOUT_MS);
        const refused = replies.filter(({ reply }) => reply?.routingId !== routing.id || reply.error !== null);
        if (refused.length === 0) return;
        const why = refused.map(({ worker, pid, reply }) => `worker ${worker} (pid ${pid}): ${reply ? (reply.error ?? `serves routing ${reply.routingId}`) : `no answer within ${ROUTING_ACK_TIMEOUT_MS} ms`}`);
        throw new Error(`${refused.length} of ${replies.length} workers did not take routing ${routing.id}, so none serves it: ${why.join('; ')}`);
      },
    });
    // Certificates: the workers read them again on SIGHUP and when their files change.
    watchCertificates(config, logger, (trigger) => {
      logger.info({ trigger }, 'reloading the TLS certificates in every worker');
      supervisor.broadcast({ type: 'reload-certificates' } satisfies ReloadCertificatesMessage);
    });
    await supervisor.start();
    if (config.metricsPort > 0) {
      const { serveClusterMetrics } = await import('./telemetry/cluster-metrics.js');
      const { registerCdnHealthMetrics } = await import('./cdn-health/cdn-health-metrics.js');
      const { registerReloadMetrics } = await import('./telemetry/reload-metrics.js');
      await serveClusterMetrics(config, supervisor, logger, (registry) => {
        registerCdnHealthMetrics(registry, () => control.prober);
        registerReloadMetrics(registry, control.status);
      });
    }
  } catch (error) {
    logger.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
}

/** How long the primary waits for every serving worker to say it serves a reloaded routing. */
const ROUTING_ACK_TIMEOUT_MS = 3000;

/** Broadcasts that reached a cluster worker after its sync with the supervisor, before it listened for them. */
const heldMessages: unknown[] = [];
function holdMessage(message: unknown): void {
  heldMessages.push(message);
}

/** Every worker listens with SO_REUSEPORT: see the README's Running it section. */
function warnWithoutTcpMigrateReq(logger: ReturnType<typeof createLogger>): void {
  if (tcpMigrateReqEnabled() !== false) return;
  logger.warn(
    'net.ipv4.tcp_migrate_req is 0: when a worker dies or drains, connections still waiting in its accept queue are ' +
      'reset rather than moved to another worker (their clients retry after their back-off); set it to 1',
  );
}

await main();
