import type { Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { constants as http2 } from 'node:http2';
import { status } from '@grpc/grpc-js';
import type { CallStats } from './call-stats.js';
import {
  decompressRequest,
  FRAME_HEADER_BYTES,
  isGrpcContentType,
  okTrailers,
  parseGrpcTimeout,
  responseHeaders,
  trailersOnlyResponse,
  UnaryRequestReader,
  WireError,
  writeFrameHeader,
} from './grpc-wire.js';
import { encodeResponse } from './redirect-codec.js';
import type { RedirectResolver } from './redirect-service.js';
import type { Viewer } from '../routing/viewer.js';

export interface RedirectHotPathOptions {
  readonly resolve: RedirectResolver;
  /** The viewer of a call, from its session and headers; undefined when nothing steers by it. */
  readonly viewerOf?: (session: Http2Session | undefined, headers: IncomingHttpHeaders) => Viewer | undefined;
  readonly stats: CallStats | undefined;
  readonly maxMessageBytes: number;
  readonly methodPath: string;
}

const DEADLINE_EXCEEDED = new WireError(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
const END_STREAM = Object.freeze({ endStream: true });
const WAIT_FOR_TRAILERS = Object.freeze({ waitForTrailers: true });
const UNSUPPORTED_MEDIA_TYPE = Object.freeze({ [http2.HTTP2_HEADER_STATUS]: http2.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE });

/** What the hot path keeps of one call, on its stream: the stream's listeners are shared functions, not per-call closures. */
const kCall = Symbol('redirect call');

/** One call in flight: its request as it arrives, its deadline, and the hot path that answers it. */
class HotPathCall {
  failed = false;
  deadline: NodeJS.Timeout | undefined;
  /** How the call ended: CANCELLED until it is answered (a client that reset it, a cut connection). */
  code: status = status.CANCELLED;
  /** When its stream arrived (performance.now()), with metrics on. */
  arrivedAt = 0;

  constructor(
    readonly hotPath: RedirectHotPathOptions,
    readonly reader: UnaryRequestReader,
    readonly encoding: string | undefined,
    readonly viewer: Viewer | undefined,
  ) {}
}

type CallStream = ServerHttp2Stream & { [kCall]: HotPathCall };

/**
 * Drops every listener of a closed stream at once, as EventEmitter's removeAllListeners() does
 * when nothing listens for 'removeListener'. A node:http2 stream always has such a listener (it
 * counts 'priority' and 'frameError' listeners for its session, which a closed stream no longer
 * has), so removeAllListeners() removes them one by one, an event each, and Readable's override
 * adds a nextTick: some 2% of a worker's CPU for a stream that is gone (docs/performance.md).
 */
function dropListeners(stream: ServerHttp2Stream): void {
  const emitter = stream as unknown as { _events: object; _eventsCount: number };
  emitter._events = { __proto__: null };
  emitter._eventsCount = 0;
}

function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(okTrailers());
}

/** Whether the call can still be answered: not answered yet, and neither reset by the client nor cut with its connection. */
function answerable(stream: ServerHttp2Stream): boolean {
  return !stream.headersSent && !stream.closed && !stream.destroyed;
}

function fail(stream: ServerHttp2Stream, error: WireError): void {
  if (!answerable(stream)) return;
  const call = (stream as Partial<CallStream>)[kCall];
  if (call) call.code = error.code;
  stream.respond(trailersOnlyResponse(error), END_STREAM);
}

function onData(this: CallStream, chunk: Buffer): void {
  const call = this[kCall];
  if (call.failed) return;
  const error = call.reader.push(chunk);
  if (error === undefined) return;
  call.failed = true;
  clearTimeout(call.deadline);
  fail(this, error);
}

function onEnd(this: CallStream): void {
  const call = this[kCall];
  if (call.failed || !answerable(this)) return;
  clearTimeout(call.deadline);
  const { reader, hotPath } = call;
  const framed = reader.finish();
  const request = framed instanceof WireError ? framed : decompressRequest(reader.compressed, call.encoding, framed, hotPath.maxMessageBytes);
  if (request instanceof WireError) {
    fail(this, request);
    return;
  }
  const { code, text } = hotPath.resolve(request, call.viewer);
  if (code !== status.OK) {
    fail(this, new WireError(code, text));
    return;
  }
  call.code = status.OK;
  this.respond(responseHeaders(), WAIT_FOR_TRAILERS);
  this.on('wantTrailers', sendOkTrailers);
  this.end(writeFrameHeader(encodeResponse(text, FRAME_HEADER_BYTES)));
}

/**
 * Once a stream has closed: no timer left behind (a client that cancelled), and no listener
 * either. A finished stream that something old still points at (a stale Map table of
 * node:http2's, a pretenured neighbour) survives young-generation GCs, and whatever hangs off
 * it is promoted with it; node:http2's own 'finish' closure is the largest of its listeners
 * (docs/performance.md, "What keeps a finished stream").
 */
function onClose(this: CallStream): void {
  const call = this[kCall];
  clearTimeout(call.deadline);
  const stats = call.hotPath.stats;
  if (stats) {
    stats.count(call.code);
    stats.observe((performance.now() - call.arrivedAt) / 1000);
  }
  dropListeners(this);
  (this as Partial<CallStream>)[kCall] = undefined;
}

/**
 * Answers a unary Redirect directly on its HTTP/2 stream: reads the framed request, resolves it
 * with the same resolver as grpc-js's handler, and responds with headers, the framed answer and
 * trailers (or a trailers-only error). It skips what grpc-js builds for every call (a call
 * object, metadata maps, an object-mode stream, listeners), which is most of a call's cost, and
 * allocates one small object per call: the listeners are shared, the headers constant.
 */
export function createRedirectHotPath(options: RedirectHotPathOptions) {
  const { maxMessageBytes, methodPath } = options;
  return function answerRedirect(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    if (!isGrpcContentType(headers[http2.HTTP2_HEADER_CONTENT_TYPE] as string | undefined)) {
      stream.respond(UNSUPPORTED_MEDIA_TYPE, END_STREAM);
      return;
    }
    const viewer = options.viewerOf?.(stream.session, headers);
    const call = new HotPathCall(options, new UnaryRequestReader(maxMessageBytes, methodPath), headers['grpc-encoding'] as string | undefined, viewer);
    (stream as CallStream)[kCall] = call;
    stream.on('close', onClose);
    if (options.stats) {
      options.stats.started++;
      call.arrivedAt = performance.now();
    }
    let deadlineMs: number | undefined;
    const timeout = headers['grpc-timeout'] as string | undefined;
    if (timeout !== undefined) {
      const ms = parseGrpcTimeout(timeout);
      if (ms instanceof WireError) {
        fail(stream, ms);
        return;
      }
      deadlineMs = ms;
    }
    if (deadlineMs !== undefined) call.deadline = setTimeout(fail, deadlineMs, stream, DEADLINE_EXCEEDED);
    stream.on('data', onData);
    stream.on('end', onEnd);
  };
}
