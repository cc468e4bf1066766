import cluster from 'node:cluster';
import type { Server as HttpServer } from 'node:http';
import type { Http2SecureServer } from 'node:http2';
import { X509Certificate } from 'node:crypto';
import { watchCertificates } from '../config/certificate-watch.js';
import { AggregatorRegistry, register } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { CallStats } from '../grpc/call-stats.js';
import { ConnectionStats } from '../grpc/connection-guard.js';
import { ABUSE_LOG_INTERVAL_MS, GrpcServer, guardLimits } from '../grpc/grpc-server.js';
import { listenHttp } from '../http/listen.js';
import { createFrontDoorServer, createRedirectHandler, setFrontDoorCertificate } from '../http/redirect-http-server.js';
import { CONNECTION_CLOSE_REASONS, ConnectionGuard, type ConnectionCloseReason } from '../grpc/connection-guard.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { HTTP_TLS_VARIABLES, reloadTlsFiles, type TlsFiles } from '../config/tls-files.js';
import { isReloadCertificatesMessage } from './messages.js';
import { RedirectRouter } from '../routing/redirect-router.js';
import { startMetricsServer } from '../telemetry/metrics-server.js';
import { registerWorkerMetrics } from '../telemetry/worker-metrics.js';
import { registerCdnHealthMetrics } from '../cdn-health/cdn-health-metrics.js';
import { routingInteger } from '../config/config.js';
import { loadRouting, type RoutingConfig } from '../config/routing-config.js';
import { isRoutingMessage, type RoutingAck, type RoutingMessage } from '../config/routing-message.js';
import { startRoutingControl, type RoutingControl } from '../config/routing-control.js';
import { registerReloadMetrics } from '../telemetry/reload-metrics.js';
import { isCdnUpMessage } from '../cdn-health/cdn-up-message.js';
import { isDrainMessage, type ReadyMessage } from './messages.js';
import { pinTickObjectMaps } from '../runtime/tick-object-maps.js';

/**
 * Stops the front door: `idle` stops accepting and closes idle connections (HTTP/2 sessions get a
 * GOAWAY and finish their streams); `all` cuts what is left.
 */
function closeFrontDoor(server: HttpServer | Http2SecureServer, what: 'idle' | 'all'): void {
  if ('closeAllConnections' in server) {
    if (what === 'idle') {
      server.close();
      server.closeIdleConnections();
    } else {
      server.closeAllConnections();
    }
    return;
  }
  if (what === 'idle') server.close();
  for (const connection of (server as Http2SecureServer & { [kOpen]?: Set<{ close(): void; destroy(): void }> })[kOpen] ?? []) {
    if (what === 'idle') connection.close();
    else connection.destroy();
  }
}

/** The HTTPS front door's open sessions and HTTP/1.1 sockets, for the drain. */
const kOpen = Symbol('open front door connections');
function trackFrontDoorConnections(server: Http2SecureServer): void {
  const open = new Set<{ close(): void; destroy(): void }>();
  (server as Http2SecureServer & { [kOpen]?: typeof open })[kOpen] = open;
  server.on('session', (session) => {
    open.add(session);
    session.once('close', () => open.delete(session));
  });
  server.on('secureConnection', (socket) => {
    // An HTTP/2 socket is closed with its session; an HTTP/1.1 one on its own.
    if (socket.alpnProtocol === 'h2') return;
    const connection = { close: () => socket.end(), destroy: () => socket.destroy() };
    open.add(connection);
    socket.once('close', () => open.delete(connection));
  });
}

/** The subject, fingerprint and expiry of a PEM certificate, for the reload's log line. */
function describeCertificate(pem: Buffer): Record<string, string> {
  try {
    const certificate = new X509Certificate(pem);
    return { subject: certificate.subject, fingerprint256: certificate.fingerprint256, validTo: certificate.validTo };
  } catch {
    return {};
  }
}

/** Exit code of a worker that could not start serving (e.g. the port is taken). */
const EXIT_CANNOT_LISTEN = 3;
/** After draining, how long a worker may take to flush and end by itself before it is ended. */
const EXIT_BACKSTOP_MS = 2000;

export interface WorkerOptions {
  readonly config: Config;
  /** The environment `config` came from: a routing message is validated against it again. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The CONFIG_FILE text `config.routing` was built from (pm2: the reloader starts from it). */
  readonly routingText: string | undefined;
  /** Under our supervisor: what it had broadcast when this worker asked at start, oldest first. */
  readonly synced?: readonly unknown[];
  /** Under our supervisor: what it broadcast since, while this worker was not listening yet. */
  readonly takeHeldMessages?: () => readonly unknown[];
  readonly logger: Logger;
  /** Under pm2 the ready signal is the string `ready` (`wait_ready`); under our supervisor a message. */
  readonly readySignal: 'cluster' | 'pm2';
}

/**
 * One serving process: a gRPC server with its own routing rotation. Drains and exits 0 on
 * SIGTERM, SIGINT, a drain message from the supervisor, or when the supervisor goes away.
 */
export async function runWorker({ config, env, routingText, synced = [], takeHeldMessages, logger, readySignal }: WorkerOptions): Promise<void> {
  // Before the first call and its mark-compacts (tick-object-maps.ts: some 8% of a worker's CPU).
  if (!pinTickObjectMaps()) logger.warn("this Node.js no longer reports nextTick's entries to async_hooks: nextTick's object literal may go megamorphic under load (docs/performance.md)");
  const router = new RedirectRouter(config.routing);
  // METRICS_PORT=0: nobody scrapes, so nothing is counted either (and no event-loop monitor runs).
  const stats = config.metricsPort > 0 ? new CallStats() : undefined;
  const connectionStats = new ConnectionStats();
  const httpConnectionStats = new ConnectionStats();
  if (stats) {
    registerWorkerMetrics(register, stats, router, { grpc: connectionStats, http: httpConnectionStats }, config.pm2 ? `pm2-${config.pm2.instance}` : String(cluster.worker?.id ?? process.pid));
    // Under our supervisor the primary serves /metrics for all workers; it asks each worker over
    // IPC, and a worker answers only once an AggregatorRegistry exists in it.
    if (readySignal === 'cluster') new AggregatorRegistry();
  }
  let lastUp: string | undefined;
  const applyCdnUp = (up: readonly string[] | null, loads?: Readonly<Record<string, number>> | null): void => {
    router.setCdnUp(up === null ? undefined : new Set(up));
    if (loads !== undefined) router.setCdnLoads(loads === null ? undefined : new Map(Object.entries(loads)));
    // With load readings an update arrives every interval: then only a change of the up set is worth a line.
    const upText = JSON.stringify(up);
    if (up !== null && (loads == null || upText !== lastUp)) logger.info({ up }, 'CDN hosts that are up changed');
    lastUp = upText;
  };
  let control: RoutingControl | undefined;
  /** Broadcasts that arrived before this worker listened for them; a drain among them is done once it can be. */
  let held: readonly unknown[] = [];
  if (readySignal === 'cluster') {
    // The primary checks the CDN hosts and reloads the routing; this worker follows its messages.
    // Each routing is answered: the primary counts a reload as done only when every worker serves it.
    const applyRouting = (message: RoutingMessage): void => {
      let error: string | null = null;
      try {
        const file = message.text === null || config.configFile === undefined ? undefined : { path: config.configFile, text: message.text };
        const routing = loadRouting(env, file, routingInteger(env));
        // Built from the same text, another routing means this worker read something else (a secret file that changed).
        if (routing.id !== message.routingId) throw new Error(`the routing built here is ${routing.id}, not the primary's ${message.routingId}`);
        router.replace(routing);
        applyCdnUp(message.cdnUp, message.cdnLoads ?? null);
        logger.info({ routingId: routing.id }, `serving routing ${routing.id}`);
      } catch (caught) {
        error = (caught as Error).message;
        logger.error({ err: caught }, `cannot apply the routing the primary sent (${error}); still serving the routing it had`);
      }
      process.send?.({ type: 'routing-applied', routingId: message.routingId, error } satisfies RoutingAck);
    };
    // What the primary had sent before this worker started: the routing it was built from is
    // config.routing already, so of that message only the up set applies.
    for (const message of synced) {
      if (isRoutingMessage(message)) applyCdnUp(message.cdnUp, message.cdnLoads ?? null);
      else if (isCdnUpMessage(message)) applyCdnUp(message.up, message.loads ?? null);
    }
    const onMessage = (message: unknown): void => {
      if (isCdnUpMessage(message)) applyCdnUp(message.up, message.loads ?? null);
      else if (isRoutingMessage(message)) applyRouting(message);
    };
    process.on('message', onMessage);
    held = takeHeldMessages?.() ?? [];
    for (const message of held) onMessage(message);
    // A hangup of the terminal reaches the whole group: the primary reloads, workers stay.
    process.on('SIGHUP', () => undefined);
  } else {
    // Under pm2 each instance is the machine's prober and reloader for itself.
    control = await startRoutingControl({
      config,
      env,
      routingText,
      logger,
      publishUp: applyCdnUp,
      publish: (routing, _text, up, loads) => {
        router.replace(routing);
        applyCdnUp(up, loads);
      },
    });
    if (stats) {
      const own = control;
      registerCdnHealthMetrics(register, () => own.prober);
      registerReloadMetrics(register, own.status);
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
  let httpServer: HttpServer | Http2SecureServer | undefined;
  if (config.httpPort > 0) {
    const frontDoorLog = new RateLimitedLog(logger, ABUSE_LOG_INTERVAL_MS);
    const onClose = (reason: ConnectionCloseReason, peer: string) => {
      const index = CONNECTION_CLOSE_REASONS.indexOf(reason);
      httpConnectionStats.closed[index] = (httpConnectionStats.closed[index] as number) + 1;
      frontDoorLog.warn(reason, { reason, peer, port: 'http' }, reason === 'max_connections' ? 'front door connection refused: HTTP_MAX_CONNECTIONS reached' : `front door connection closed: ${reason}`);
    };
    httpServer = createFrontDoorServer(createRedirectHandler(router, logger, config.http.corsOrigins), {
      config: config.http,
      maxHeaderListBytes: config.connection.maxHeaderListBytes,
      maxConcurrentStreams: config.connection.maxConcurrentStreams,
      onClose,
    });
    // HTTP/2 on the HTTPS front door gets the gRPC port's defences: streams reset, floods, header blocks.
    if (config.http.tls) {
      trackFrontDoorConnections(httpServer as Http2SecureServer);
      new ConnectionGuard(
        {
          ...guardLimits(config.http.maxConnections, config.connection.maxHeaderListBytes),
          onClose: (reason, peer) =>
            frontDoorLog.warn(reason, { reason, peer, port: 'http' }, reason === 'max_connections' ? 'front door connection refused: HTTP_MAX_CONNECTIONS reached' : `front door connection closed for abuse: ${reason}`),
        },
        httpConnectionStats,
      ).attach(httpServer as Http2SecureServer);
    }
    try {
      const httpPort = await listenHttp(httpServer, config.grpcHost, config.httpPort, { reusePort: true });
      logger.info({ host: config.grpcHost, port: httpPort, tls: config.http.tls !== undefined, protocols: config.http.tls ? ['h2', 'http/1.1'] : ['http/1.1'] }, 'HTTP front door listening on /redirect');
    } catch (error) {
      logger.fatal({ err: error }, `cannot listen on HTTP_PORT ${config.grpcHost}:${config.httpPort}: ${(error as Error).message}`);
      process.exit(EXIT_CANNOT_LISTEN);
    }
  }
  // Certificates renewed in place (cert-manager, certbot): new connections get the new pair.
  let grpcTls = config.tls;
  let httpTls = config.http.tls;
  const reloadCertificates = (trigger: string): void => {
    for (const [port, current, names, apply] of [
      ['grpc', grpcTls, undefined, (tls: TlsFiles) => server.setCertificates(tls)],
      ['http', httpTls, HTTP_TLS_VARIABLES, (tls: TlsFiles) => httpServer && setFrontDoorCertificate(httpServer, tls)],
    ] as const) {
      if (current === undefined) continue;
      try {
        const next = reloadTlsFiles(current, names);
        if (next.cert.equals(current.cert) && next.key.equals(current.key) && (next.ca?.equals(current.ca ?? Buffer.alloc(0)) ?? current.ca === undefined)) continue;
        apply(next);
        if (port === 'grpc') grpcTls = next;
        else httpTls = next;
        logger.info({ trigger, port, certFile: next.certFile, certificate: describeCertificate(next.cert) }, `certificate reloaded on the ${port} port: new connections get it`);
      } catch (error) {
        logger.error({ trigger, port, err: error }, `certificate reload refused on the ${port} port, still serving the pair it had: ${(error as Error).message}`);
      }
    }
  };
  process.on('message', (message) => {
    if (isReloadCertificatesMessage(message)) reloadCertificates('supervisor');
  });
  if (readySignal === 'pm2' && (grpcTls || httpTls)) watchCertificates(config, logger, reloadCertificates);

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
  let metricsServer: HttpServer | undefined;
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
    if (httpServer) closeFrontDoor(httpServer, 'idle');
    void server.drain(config.shutdownTimeoutMs).then((finished) => {
      if (httpServer) closeFrontDoor(httpServer, 'all');
      if (finished) logger.info('worker drained');
      else logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'worker drain timed out; calls in flight were cut off');
      // End by running out of work rather than process.exit(), so that log lines still in
      // flight (pm2 collects them asynchronously) are written; the timer is a backstop.
      process.exitCode = 0;
      metricsServer?.close();
      control?.stop();
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
  if (held.some(isDrainMessage)) drain('supervisor');

  if (readySignal === 'cluster') process.send?.({ type: 'ready', port } satisfies ReadyMessage);
  else process.send?.('ready');
}
