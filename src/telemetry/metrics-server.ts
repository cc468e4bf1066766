import { createServer, type Server } from 'node:http';
import { listenHttp } from '../http/listen.js';
import type { Logger } from '../logging/logger.js';

export interface MetricsSource {
  /** The exposition text and its content type. */
  metrics(): Promise<string>;
  readonly contentType: string;
  /** Whether `/healthz` answers 200: the process has something serving. */
  healthy(): boolean;
}

/**
 * `GET /metrics` (Prometheus text) and `GET /healthz` for HTTP-only probes, on their own port so
 * that scraping never competes with gRPC connections.
 */
export async function startMetricsServer(host: string, port: number, source: MetricsSource, logger: Logger): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    } else if (path === '/metrics') {
      source.metrics().then(
        (text) => response.writeHead(200, { 'content-type': source.contentType }).end(text),
        (error: unknown) => {
          logger.error({ err: error }, 'metrics scrape failed');
          response.writeHead(500, { 'content-type': 'text/plain' }).end(`scrape failed: ${(error as Error).message}\n`);
        },
      );
    } else if (path === '/healthz') {
      const healthy = source.healthy();
      response.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' }).end(healthy ? 'ok\n' : 'not serving\n');
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics or /healthz\n');
    }
  });
  const boundPort = await listenHttp(server, host, port);
  logger.info({ host, port: boundPort }, 'serving metrics on /metrics and /healthz');
  return server;
}
