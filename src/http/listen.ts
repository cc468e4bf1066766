import type { Server } from 'node:http';

/** Listens on host:port (0 = any free port); resolves with the bound port, rejects on EADDRINUSE and the like. */
export function listenHttp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}
