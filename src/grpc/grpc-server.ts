import type { Http2SecureServer, Http2Server, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Server, ServerCredentials, type ChannelOptions, type Metadata, type ServerUnaryCall } from '@grpc/grpc-js';
import { viewerOf, type ForwardingHeaders } from '../edge/viewer-address.js';
import { HealthImplementation } from 'grpc-health-check';
import type { ConnectionLimits } from '../config/config.js';
import type { TlsFiles } from '../config/tls-files.js';
import type { RedirectRouter } from '../routing/redirect-router.js';
import type { Logger } from '../logging/logger.js';
import type { CallStats } from './call-stats.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { ConnectionGuard, ConnectionStats } from './connection-guard.js';
import { socketOf, useStreamTables } from './node-http2-internals.js';
import { addHttp2ServerOptions, http2ServersOf, interceptMethodStreams, listenWithReusePort, methodStreamsIntercepted } from './grpc-js-internals.js';
import { createReflectionService } from './reflection.js';
import { createRedirectHotPath } from './redirect-hot-path.js';
import {
  createRedirectHandler,
  createRedirectResolver,
  redirectServiceDefinition,
  REDIRECT_METHOD_PATH,
  REDIRECT_SERVICE_NAME,
} from './redirect-service.js';

/** Requests larger than this are refused by grpc-js with RESOURCE_EXHAUSTED. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Header blocks one connection may have rejected per second before it is closed (ENHANCE_YOUR_CALM). */
export const MAX_REJECTED_STREAMS_PER_SECOND = 10;
/**
 * Streams a connection may reset before their answer, per second and at once: a caller cancels a
 * call when its deadline passes, rarely a hundred a second on one connection; nghttp2 itself
 * allows 33 a second after a burst of 1,000, which is what a Rapid Reset attacker spends.
 */
export const MAX_PEER_RESETS_PER_SECOND = 100;
/**
 * Bytes a connection may send beyond what its headers and data account for: at once, a few
 * largest legitimate header blocks (MAX_HEADER_LIST_BYTES is 8 KiB by default); per second, a
 * client's pings and window updates many times over. 64 KiB of zero-length header fields decode
 * in about 40 ms. The guard adds one stream window (64 KiB) to the burst.
 */
export const UNEXPLAINED_BYTES_BURST = 64 * 1024;
export const UNEXPLAINED_BYTES_PER_SECOND = 16 * 1024;
/** Header fields per call: a gRPC call sends about ten. */
export const MAX_HEADER_LIST_PAIRS = 64;
/** The HTTP/2 defences' limits, the same for the gRPC port and the HTTPS front door. */
export function guardLimits(maxConnections: number, maxHeaderListBytes: number) {
  return {
    maxConnections,
    maxRejectedStreamsPerSecond: MAX_REJECTED_STREAMS_PER_SECOND,
    maxPeerResetsPerSecond: MAX_PEER_RESETS_PER_SECOND,
    unexplainedBytesBurst: Math.max(UNEXPLAINED_BYTES_BURST, 4 * maxHeaderListBytes),
    unexplainedBytesPerSecond: UNEXPLAINED_BYTES_PER_SECOND,
  };
}

/** A connection closed for abuse is logged once per reason per this interval, with a count of the rest. */
export const ABUSE_LOG_INTERVAL_MS = 10_000;

export interface GrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly router: RedirectRouter;
  readonly logger: Logger;
  readonly connectionLimits: ConnectionLimits;
  /** Per-call counters for metrics; undefined when metrics are off. */
  readonly stats: CallStats | undefined;
  /** Connection counters (open, closed by reason), counted whether or not metrics are on. */
  readonly connectionStats?: ConnectionStats;
  readonly tls: TlsFiles | undefined;
  /**
   * Listen on a socket of this process's own with SO_REUSEPORT, beside the other processes
   * that serve the same port, rather than through a cluster primary.
   */
  readonly reusePort?: boolean;
  /** Answer Redirect on the HTTP/2 stream itself rather than through grpc-js (see redirect-hot-path.ts). */
  readonly hotPath?: boolean;
}

/**
 * Where grpc-js answers Redirect: each call is counted and timed from its stream's arrival (ahead
 * of grpc-js's own listener) to its close, as the hot path times its calls; the handler counts
 * how it ended.
 */
function timeRedirectStreams(server: Http2Server | Http2SecureServer, stats: CallStats): void {
  server.prependListener('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    if (headers[':path'] !== REDIRECT_METHOD_PATH) return;
    stats.started++;
    const arrivedAt = performance.now();
    stream.once('close', () => stats.observe((performance.now() - arrivedAt) / 1000));
  });
}

/** The peer's address of a session, read once per connection (`session.socket` is a Proxy). */
function remoteAddressOf(session: Http2Session): string | undefined {
  return (socketOf(session) ?? session.socket)?.remoteAddress;
}

/** grpc-js's peer string (`ipv4:1.2.3.4:5`, `ipv6:[::1]:5`, `1.2.3.4:5`) as an address. */
export function peerAddressOf(peer: string): string | undefined {
  const bare = peer.replace(/^ipv[46]:/, '');
  if (bare.startsWith('[')) return bare.slice(1, bare.indexOf(']'));
  const colon = bare.lastIndexOf(':');
  return colon < 0 ? bare : bare.slice(0, colon);
}

/** The forwarding headers of a call's metadata, as node:http2 gives them to the hot path. */
function forwardingHeadersOf(metadata: Metadata): ForwardingHeaders {
  const first = (name: string) => {
    const values = metadata.get(name).map(String);
    return values.length === 0 ? undefined : values.join(',');
  };
  return { forwarded: first('forwarded'), 'x-forwarded-for': first('x-forwarded-for'), 'x-real-ip': first('x-real-ip') };
}

/** Which code answers Redirect once the server listens. */
export type RedirectPath = 'hot path' | 'grpc-js';

/** The gRPC endpoint of one process: Redirect, health and reflection on one port. */
export class GrpcServer {
  private readonly server: Server;
  private readonly health = new HealthImplementation({ '': 'SERVING', [REDIRECT_SERVICE_NAME]: 'SERVING' });
  private draining: Promise<boolean> | undefined;
  private readonly guard: ConnectionGuard;
  /** Whether node:http2 got our header limits (grpc-js gives no option for them). */
  readonly headerLimitsApplied: boolean;

  constructor(private readonly options: GrpcServerOptions) {
    const limits = options.connectionLimits;
    const channelOptions: ChannelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
      'grpc.keepalive_time_ms': limits.keepaliveTimeMs === 0 ? -1 : limits.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
      // grpc-js reads "unset" as off; 0 would mean "at once". (MAX_CONNECTION_IDLE_MS is the
      // guard's: grpc-js's idle timer costs every call a once('close') closure and a timer refresh.)
      ...(limits.maxConnectionAgeMs > 0 && {
        'grpc.max_connection_age_ms': limits.maxConnectionAgeMs,
        'grpc.max_connection_age_grace_ms': limits.maxConnectionAgeGraceMs,
      }),
      // Channelz bookkeeping costs time on every call and nobody reads it here.
      'grpc.enable_channelz': 0,
    };
    this.server = new Server(channelOptions);
    this.headerLimitsApplied = addHttp2ServerOptions(this.server, {
      maxHeaderListPairs: MAX_HEADER_LIST_PAIRS,
      settings: { maxHeaderListSize: limits.maxHeaderListBytes },
    });
    const abuseLog = new RateLimitedLog(options.logger, ABUSE_LOG_INTERVAL_MS);
    this.guard = new ConnectionGuard(
      {
        ...guardLimits(limits.maxConnections, limits.maxHeaderListBytes),
        maxIdleMs: limits.maxConnectionIdleMs,
        onClose: (reason, peer) =>
          abuseLog.warn(reason, { reason, peer }, reason === 'max_connections' ? 'connection refused: MAX_CONNECTIONS reached' : `connection closed for abuse: ${reason}`),
        onClientClose: (peer) => options.logger.debug({ peer }, "client closed its connection with a GOAWAY nghttp2 refuses (grpc-go's last-stream-id); not abuse"),
      },
      options.connectionStats,
    );
    const router = options.router;
    const resolve = createRedirectResolver(router, options.logger);
    // The viewer only matters when the routing steers: without steering no address is parsed.
    const viewerOfCall = (call: ServerUnaryCall<Buffer, string>) => {
      const steering = router.rule.steering;
      if (steering === undefined) return undefined;
      return viewerOf(call, peerAddressOf(call.getPeer()), forwardingHeadersOf(call.metadata), steering.trustedProxies);
    };
    this.server.addService(redirectServiceDefinition, { Redirect: createRedirectHandler(resolve, options.stats, viewerOfCall) });
    if (options.hotPath) {
      const hotPath = createRedirectHotPath({
        resolve,
        stats: options.stats,
        maxMessageBytes: MAX_MESSAGE_BYTES,
        methodPath: REDIRECT_METHOD_PATH,
        viewerOf: (session, headers) => {
          const steering = router.rule.steering;
          if (steering === undefined || session === undefined) return undefined;
          return viewerOf(session, remoteAddressOf(session), headers, steering.trustedProxies);
        },
      });
      interceptMethodStreams(this.server, REDIRECT_METHOD_PATH, hotPath);
    }
    this.health.addToServer(this.server);
    createReflectionService().addToServer(this.server);
  }

  /** Binds and starts serving; resolves with the port actually bound. */
  listen(): Promise<number> {
    const { host, port, reusePort } = this.options;
    if (reusePort && !listenWithReusePort(this.server)) {
      return Promise.reject(new Error('this @grpc/grpc-js cannot listen with SO_REUSEPORT (its private bindOneAddress is gone)'));
    }
    const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, this.credentials(), (error, boundPort) => {
        if (error) {
          reject(error);
          return;
        }
        const timeGrpcJsCalls = this.redirectPath === 'grpc-js' ? this.options.stats : undefined;
        for (const http2Server of http2ServersOf(this.server)) {
          this.guard.attach(http2Server);
          if (timeGrpcJsCalls) timeRedirectStreams(http2Server, timeGrpcJsCalls);
          useStreamTables(http2Server, () =>
            this.options.logger.warn('this Node.js keeps HTTP/2 streams differently: sessions keep their Map of streams, and finished streams are promoted to the old generation (docs/performance.md)'),
          );
        }
        resolve(boundPort);
      });
    });
  }

  /**
   * Which code answers Redirect, once listening: the hot path when it was asked for and grpc-js
   * dispatches through it, else grpc-js's own handler (the same answers, at grpc-js's cost).
   */
  get redirectPath(): RedirectPath {
    return this.options.hotPath && methodStreamsIntercepted(this.server) ? 'hot path' : 'grpc-js';
  }

  /**
   * Gives new connections a new certificate pair (a renewal): the HTTP/2 servers grpc-js made get
   * a new secure context; connections already open keep the pair they were made with.
   */
  setCertificates(tls: TlsFiles): void {
    for (const http2Server of http2ServersOf(this.server)) {
      (http2Server as Http2SecureServer).setSecureContext({
        cert: tls.cert,
        key: tls.key,
        // The server keeps its rule on client certificates (requestCert): only the context changes.
        ...(tls.ca && { ca: tls.ca }),
      });
    }
  }

  private credentials(): ServerCredentials {
    const { tls } = this.options;
    if (!tls) return ServerCredentials.createInsecure();
    // With a CA, clients must present a certificate it signed (mutual TLS).
    return ServerCredentials.createSsl(tls.ca ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.ca !== undefined);
  }

  /**
   * Health turns NOT_SERVING, new connections are refused, calls in flight finish; after
   * `timeoutMs` whatever is left is cut off. Resolves `true` when everything finished in time.
   */
  drain(timeoutMs: number): Promise<boolean> {
    this.draining ??= new Promise((resolve) => {
      this.health.setStatus('', 'NOT_SERVING');
      this.health.setStatus(REDIRECT_SERVICE_NAME, 'NOT_SERVING');
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        this.guard.stop();
        resolve(false);
      }, timeoutMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        this.guard.stop();
        resolve(true);
      });
    });
    return this.draining;
  }
}
