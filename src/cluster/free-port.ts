import { createServer } from 'node:net';

/**
 * Asks the kernel for a free port on `host`. The supervisor resolves `GRPC_PORT=0` once, so that
 * every worker, including replacements forked later, binds the same port (each with its own
 * SO_REUSEPORT socket).
 */
export function findFreePort(host: string): Promise<number> {
  return assertPortFree(host, 0);
}

/** Binds host:port for a moment: resolves with the port when it is free, rejects (EADDRINUSE) when it is not. */
export function assertPortFree(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
