import { createServer } from 'node:net';

/**
 * Asks the kernel for a free port on `host`. The supervisor resolves `GRPC_PORT=0` once, so that
 * every worker, including replacements forked later, binds the same port: node:cluster shares a
 * listening socket between workers only when they ask for the same address and port.
 */
export function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
