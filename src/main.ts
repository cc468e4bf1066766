import cluster from 'node:cluster';
import { ConfigError } from './config/config-error.js';
import { describeConfig, loadConfig, type Config } from './config/config.js';
import { createLogger } from './logging/logger.js';
import { unsupportedNodeReason } from './runtime/node-version.js';
import { startCdnProber } from './cdn-health/cdn-prober.js';
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
  try {
    config = loadConfig(process.env);
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
    await runWorker({ config, logger, readySignal: underPm2 ? 'pm2' : 'cluster' });
    return;
  }

  nameProcess('primary');
  const logger = createLogger(config.logLevel, { role: 'primary' });
  logger.info({ node: process.version, config: describeConfig(config) }, 'starting video-balancer');
  warnWithoutTcpMigrateReq(logger);
  if (config.originAllowList.allowsAnyHost) {
    logger.warn('ORIGIN_HOSTS contains "*": any host is accepted, so every origin answer is an open redirect');
  }
  const { Supervisor } = await import('./cluster/supervisor.js');
  const supervisor = new Supervisor(config, logger);
  try {
    // One CDN prober per machine: the primary checks, the workers learn the up set over IPC.
    const prober = config.cdnHealth
      ? await startCdnProber(config.cdnHosts, config.cdnHealth, logger, (up) => supervisor.broadcast({ type: 'cdn-up', up }))
      : undefined;
    await supervisor.start();
    if (config.metricsPort > 0) {
      const { serveClusterMetrics } = await import('./telemetry/cluster-metrics.js');
      const { registerCdnHealthMetrics } = await import('./cdn-health/cdn-health-metrics.js');
      await serveClusterMetrics(config, supervisor, logger, (registry) => prober && registerCdnHealthMetrics(registry, prober, config.cdnHosts));
    }
  } catch (error) {
    logger.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
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
