import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { INTERNAL_FAILURE_MESSAGE, RedirectFailures } from '../edge/redirect-failure.js';
import { describeViewer, viewerOf } from '../edge/viewer-address.js';
import type { RedirectRouter } from '../routing/redirect-router.js';
import type { Logger } from '../logging/logger.js';
import { truncateForLog } from '../logging/logger.js';

/**
 * The HTTP front door: `GET /redirect?video=<url-encoded URL>` answers `302 Found` with
 * `Location` set to exactly what the gRPC call would answer: same rule, same allow-list, same
 * counter (the router is shared within the worker). Video players follow redirects natively.
 */
export function createRedirectHttpServer(router: Pick<RedirectRouter, 'redirect' | 'rule' | 'lastDecision' | 'lastPool'>, logger: Logger): Server {
  const debug = logger.isLevelEnabled('debug');
  const failures = new RedirectFailures(logger);
  const server = createServer((request, response) => {
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    if (path !== '/redirect') return plain(response, 404, 'not found; use GET /redirect?video=<url-encoded URL>');
    if (request.method !== 'GET') {
      response.setHeader('allow', 'GET');
      return plain(response, 405, `method ${request.method ?? ''} not allowed; use GET`);
    }
    const videos = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1)).getAll('video');
    if (videos.length !== 1) {
      return plain(response, 400, videos.length === 0 ? 'video: is required (?video=<url-encoded URL>)' : 'video: is given more than once');
    }
    const video = videos[0] as string;
    // The viewer only matters when the routing steers: the socket's peer, or what a trusted proxy forwarded.
    const steering = router.rule.steering;
    const viewer = steering === undefined ? undefined : viewerOf(request.socket, request.socket.remoteAddress, request.headers, steering.trustedProxies);
    let answer: string;
    try {
      answer = router.redirect(video, viewer);
    } catch (error) {
      const mistake = failures.callersMistake(error, 'http');
      if (mistake === undefined) return plain(response, 500, INTERNAL_FAILURE_MESSAGE);
      if (debug) logger.debug({ video: truncateForLog(video), reason: mistake }, 'invalid HTTP request');
      return plain(response, 400, mistake);
    }
    if (debug) logger.debug({ video: truncateForLog(video), redirect: truncateForLog(answer), ...describeViewer(router, viewer, answer !== video) }, 'HTTP redirect');
    // The rule only lets printable ASCII through, so the Location cannot carry CR or LF.
    response.writeHead(302, { location: answer, 'cache-control': 'no-store', 'content-length': '0' }).end();
  });
  server.on('clientError', (error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    logger.debug({ err: error }, 'malformed HTTP request');
  });
  return server;
}

function plain(response: ServerResponse<IncomingMessage>, statusCode: number, text: string): void {
  response.writeHead(statusCode, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(`${text}\n`);
}
