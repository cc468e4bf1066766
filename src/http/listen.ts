import type { Server } from 'node:net';
import { LISTEN_BACKLOG } from '../runtime/listen-backlog.js';

/**
 * Listens on host:port (0 = any free port); resolves with the bound port, rejects on EADDRINUSE
 * and the like. `reusePort`: a socket of this process's own with SO_REUSEPORT, beside the other
 * processes serving the port, rather than one shared through a cluster primary.
 */
export function listenHttp(server: Server, host: string, port: number, { reusePort = false } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, reusePort, exclusive: reusePort, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}
