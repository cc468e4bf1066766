import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { FrontDoorConfig } from '../config/config.js';
import type { TlsFiles } from '../config/tls-files.js';
import { INTERNAL_FAILURE_MESSAGE, RedirectFailures } from '../edge/redirect-failure.js';
import { describeViewer, viewerOf } from '../edge/viewer-address.js';
import type { ConnectionCloseReason } from '../grpc/connection-guard.js';
import type { RedirectRouter } from '../routing/redirect-router.js';
import { MAX_VIDEO_URL_LENGTH } from '../routing/video-url.js';
import type { Logger } from '../logging/logger.js';
import { truncateForLog } from '../logging/logger.js';
import { corsHeaders, PREFLIGHT_HEADERS } from './cors.js';

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;
/** What the handler needs of a response, the same on HTTP/1.1 and HTTP/2. */
interface Answer {
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  end(text?: string): unknown;
}
type Router = Pick<RedirectRouter, 'redirect' | 'rule' | 'lastDecision' | 'lastPool'>;

const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';

/**
 * The answers of the front door: `GET /redirect?video=<url-encoded URL>` answers `302 Found` with
 * `Location` set to exactly what the gRPC call would answer: same rule, same allow-list, same
 * counter (the router is shared within the worker). `HEAD` answers as `GET` does; a CORS
 * preflight is answered 204. The same on HTTP/1.1 and HTTP/2.
 */
export function createRedirectHandler(router: Router, logger: Logger, corsOrigins: FrontDoorConfig['corsOrigins'] = '*') {
  const debug = logger.isLevelEnabled('debug');
  const failures = new RedirectFailures(logger);
  return function handle(request: Request, res: Response): void {
    const response = res as Answer;
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    if (path !== '/redirect') return plain(response, 404, 'not found; use GET /redirect?video=<url-encoded URL>');
    const cors = corsHeaders(request.headers.origin, corsOrigins);
    const method = request.method ?? '';
    if (method === 'OPTIONS') {
      const preflight = request.headers['access-control-request-method'] !== undefined;
      response.writeHead(204, { ...cors, ...(preflight ? PREFLIGHT_HEADERS : {}), allow: ALLOWED_METHODS, 'cache-control': 'no-store' });
      response.end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') return plain(response, 405, `method ${method} not allowed; use GET`, { ...cors, allow: ALLOWED_METHODS });
    const videos = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1)).getAll('video');
    if (videos.length !== 1) {
      return plain(response, 400, videos.length === 0 ? 'video: is required (?video=<url-encoded URL>)' : 'video: is given more than once', cors);
    }
    const video = videos[0] as string;
    // The viewer only matters when the routing steers: the connection's peer, or what a trusted proxy forwarded.
    const steering = router.rule.steering;
    const connection = (request as Http2ServerRequest).stream?.session ?? request.socket;
    const viewer = steering === undefined ? undefined : viewerOf(connection, request.socket?.remoteAddress, request.headers, steering.trustedProxies);
    let answer: string;
    try {
      answer = router.redirect(video, viewer);
    } catch (error) {
      const mistake = failures.callersMistake(error, 'http');
      if (mistake === undefined) return plain(response, 500, INTERNAL_FAILURE_MESSAGE, cors);
      if (debug) logger.debug({ video: truncateForLog(video), reason: mistake }, 'invalid HTTP request');
      return plain(response, 400, mistake, cors);
    }
    if (debug) logger.debug({ video: truncateForLog(video), redirect: truncateForLog(answer), ...describeViewer(router, viewer, answer !== video) }, 'HTTP redirect');
    // The rule only lets printable ASCII through, so the Location cannot carry CR or LF.
    response.writeHead(302, { ...cors, location: answer, 'cache-control': 'no-store', 'content-length': '0' });
    response.end();
  };
}

function plain(response: Answer, statusCode: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(statusCode, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  response.end(`${text}\n`);
}

export interface FrontDoorOptions {
  readonly config: FrontDoorConfig;
  /** The largest header list a request may send (MAX_HEADER_LIST_BYTES, as on the gRPC port). */
  readonly maxHeaderListBytes: number;
  /** Streams one HTTP/2 connection may have open (MAX_CONCURRENT_STREAMS, as on the gRPC port). */
  readonly maxConcurrentStreams: number;
  /** A connection the front door closed at one of its limits. */
  readonly onClose: (reason: ConnectionCloseReason, peer: string) => void;
}

/**
 * The front door's server: HTTPS with HTTP/2 and HTTP/1.1 on one port (by ALPN) when it has a
 * certificate, else plain HTTP/1.1; with its limits. Request headers must arrive within
 * HTTP_HEADERS_TIMEOUT_MS (and a TLS handshake too), or the connection is closed: a slowloris of
 * half-sent requests holds nothing for long.
 */
export function createFrontDoorServer(handle: ReturnType<typeof createRedirectHandler>, { config, maxHeaderListBytes, maxConcurrentStreams, onClose }: FrontDoorOptions): HttpServer | Http2SecureServer {
  const { headersTimeoutMs, keepAliveTimeoutMs } = config;
  // Node checks its HTTP/1.1 timeouts on this period (30 s by default): a bound of seconds needs a shorter one.
  const checkEvery = Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4)));
  let server: HttpServer | Http2SecureServer;
  if (config.tls) {
    server = createSecureServer(
      {
        cert: config.tls.cert,
        key: config.tls.key,
        allowHTTP1: true,
        handshakeTimeout: headersTimeoutMs,
        maxSessionInvalidFrames: 100,
        settings: { maxConcurrentStreams, maxHeaderListSize: maxHeaderListBytes },
        maxHeaderListPairs: 64,
      },
      handle,
    );
    // What an HTTP/1.1 client of the HTTPS port gets, as the plain server does (Node reads these for allowHTTP1).
    Object.assign(server, { headersTimeout: headersTimeoutMs, requestTimeout: headersTimeoutMs, connectionsCheckingInterval: checkEvery, keepAliveTimeout: keepAliveTimeoutMs });
    // An HTTP/2 session with nothing open for the keep-alive time is closed, as an idle HTTP/1.1 connection is.
    server.setTimeout(Math.max(keepAliveTimeoutMs, headersTimeoutMs));
    server.on('tlsClientError', (error: Error & { code?: string }, socket) => {
      onClose(error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'headers_timeout' : 'tls_handshake', `${socket.remoteAddress}:${socket.remotePort}`);
    });
  } else {
    server = createHttpServer(
      {
        headersTimeout: headersTimeoutMs,
        requestTimeout: headersTimeoutMs,
        connectionsCheckingInterval: checkEvery,
        keepAliveTimeout: keepAliveTimeoutMs,
        // HTTP/1.1 counts the request line in: room for a video URL at the rule's limit,
        // percent-encoded, so that it gets the rule's 400 with a reason rather than a bare 431.
        maxHeaderSize: maxHeaderListBytes + 3 * MAX_VIDEO_URL_LENGTH,
      },
      handle,
    );
  }
  server.maxConnections = config.maxConnections;
  // On HTTPS the connection guard (HTTP/2's defences) counts what it drops at this limit.
  if (!config.tls) server.on('drop', (peer?: { remoteAddress?: string; remotePort?: number }) => onClose('max_connections', `${peer?.remoteAddress}:${peer?.remotePort}`));
  server.on('clientError', (error: Error & { code?: string }, socket: import('node:stream').Duplex & { remoteAddress?: string; remotePort?: number; writable: boolean }) => {
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    // With a clientError listener, node:http2's HTTPS server leaves a failed TLS handshake to it
    // (counted on 'tlsClientError'): there is no HTTP to answer, only a socket to close.
    if (error.code?.startsWith('ERR_TLS') || error.code?.startsWith('ERR_SSL')) {
      socket.destroy();
      return;
    }
    if (socket.writable) socket.end(`HTTP/1.1 ${timedOut ? '408 Request Timeout' : tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nconnection: close\r\n\r\n`);
    else socket.destroy();
    if (timedOut || tooLarge) onClose(timedOut ? 'headers_timeout' : 'headers_too_large', `${socket.remoteAddress}:${socket.remotePort}`);
  });
  return server;
}

/** The HTTP/1.1 front door of before, for tests and tools that want the handler on a plain server. */
export function createRedirectHttpServer(router: Router, logger: Logger): HttpServer {
  return createHttpServer(createRedirectHandler(router, logger));
}

/** Gives the HTTPS front door a new certificate: connections already open keep theirs. */
export function setFrontDoorCertificate(server: HttpServer | Http2SecureServer, tls: TlsFiles): void {
  (server as Http2SecureServer).setSecureContext({ cert: tls.cert, key: tls.key });
}
