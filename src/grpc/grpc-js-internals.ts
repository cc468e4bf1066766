import type { Http2SecureServer, Http2Server, IncomingHttpHeaders, SecureServerOptions, ServerHttp2Stream } from 'node:http2';
import { constants as http2 } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import { LISTEN_BACKLOG } from '../runtime/listen-backlog.js';

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
 * queue with it. The accept queue is LISTEN_BACKLOG deep. Returns false, changing nothing, when grpc-js no longer has the method.
 */
export function listenWithReusePort(server: Server): boolean {
  const internals = server as unknown as BindOneAddress;
  const bindOneAddress = internals.bindOneAddress;
  if (typeof bindOneAddress !== 'function') return false;
  internals.bindOneAddress = (address, boundPort) =>
    bindOneAddress.call(server, 'port' in address ? { ...address, reusePort: true, exclusive: true, backlog: LISTEN_BACKLOG } : address, boundPort);
  return true;
}

/** grpc-js 1.14's private options for every `http2.createServer` it calls, set in its constructor. */
interface CommonServerOptions {
  commonServerOptions?: SecureServerOptions;
}

/**
 * Adds node:http2 server options (header limits, session limits) to those grpc-js creates its
 * HTTP/2 servers with, which it does not let a caller set. Must run before `bindAsync`; settings
 * are merged with grpc-js's own (max concurrent streams). Returns false, changing nothing, when
 * grpc-js no longer has the member.
 */
export function addHttp2ServerOptions(server: Server, options: SecureServerOptions): boolean {
  const internals = server as unknown as CommonServerOptions;
  const common = internals.commonServerOptions;
  if (typeof common !== 'object' || common === null) return false;
  internals.commonServerOptions = { ...common, ...options, settings: { ...common.settings, ...options.settings } };
  return true;
}

/** After `bindAsync`: the node:http2 servers grpc-js listens with (one per bound address). */
export function http2ServersOf(server: Server): Array<Http2Server | Http2SecureServer> {
  const servers = (server as unknown as StreamDispatch).http2Servers;
  return servers instanceof Map ? [...servers.keys()] : [];
}

type StreamHandler = (this: Server, extraInterceptors: unknown, stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

/** grpc-js 1.14's private stream dispatch: `_streamHandler` is bound to each HTTP/2 server's 'stream' event at bind time. */
interface StreamDispatch {
  _streamHandler?: StreamHandler;
  /** Counts the stream as activity of its session, for grpc.max_connection_idle_ms. */
  onStreamOpened?: (stream: ServerHttp2Stream) => void;
  http2Servers?: Map<Http2Server | Http2SecureServer, unknown>;
}

/**
 * Answers streams for `methodPath` with `answer` instead of grpc-js; every other stream goes to
 * grpc-js as before. Must run before `bindAsync`. What grpc-js does for every stream before its
 * method lookup is kept: an 'error' listener and the session's idle tracking. Returns false,
 * changing nothing, when grpc-js no longer has these members.
 */
export function interceptMethodStreams(
  server: Server,
  methodPath: string,
  answer: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
): boolean {
  const internals = server as unknown as StreamDispatch;
  const grpcJsHandler = internals._streamHandler;
  const onStreamOpened = internals.onStreamOpened;
  if (typeof grpcJsHandler !== 'function' || typeof onStreamOpened !== 'function') return false;
  // A named function, so that methodStreamsIntercepted can recognise its bound copy.
  const hook: StreamHandler = function dispatchHotPathOrGrpcJs(this: Server, extraInterceptors, stream, headers) {
    if (headers[http2.HTTP2_HEADER_PATH] !== methodPath) {
      grpcJsHandler.call(this, extraInterceptors, stream, headers);
      return;
    }
    // Errors end in 'close'; without a listener one would be thrown. (on, not once: once
    // wraps the listener in a new closure on every call.)
    stream.on('error', ignore);
    onStreamOpened.call(this, stream);
    answer(stream, headers);
  };
  internals._streamHandler = hook;
  return true;
}

/** After `bindAsync`: whether every HTTP/2 server grpc-js listens with dispatches streams through the hook. */
export function methodStreamsIntercepted(server: Server): boolean {
  const servers = http2ServersOf(server);
  if (servers.length === 0) return false;
  return servers.every((http2Server) => http2Server.listeners('stream').some((listener) => listener.name === 'bound dispatchHotPathOrGrpcJs'));
}

function ignore(): void {}
