import type { Server } from '@grpc/grpc-js';

/**
 * The one place that reaches into @grpc/grpc-js's private members. The grpc-js version is
 * pinned exactly in package.json; test/grpc/grpc-js-internals.test.ts fails when an upgrade
 * moves what is used here.
 */

interface TcpAddress {
  readonly host: string;
  readonly port: number;
}

/** grpc-js 1.14's private `Server.bindOneAddress(address, boundPort)`, which calls `http2Server.listen(address)`. */
interface BindOneAddress {
  bindOneAddress?: (address: TcpAddress | { path: string }, boundPort: unknown) => Promise<unknown>;
}

/**
 * Makes `server` listen on its own SO_REUSEPORT socket (`reusePort`, Node >= 22.12), bound by
 * this process (`exclusive`) instead of through the cluster primary: the kernel spreads new
 * connections over the processes that listen, and a process that dies takes its socket and its
 * queue with it. Returns false, changing nothing, when grpc-js no longer has the method.
 */
export function listenWithReusePort(server: Server): boolean {
  const internals = server as unknown as BindOneAddress;
  const bindOneAddress = internals.bindOneAddress;
  if (typeof bindOneAddress !== 'function') return false;
  internals.bindOneAddress = (address, boundPort) =>
    bindOneAddress.call(server, 'port' in address ? { ...address, reusePort: true, exclusive: true } : address, boundPort);
  return true;
}
