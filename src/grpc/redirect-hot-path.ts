import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
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

export interface RedirectHotPathOptions {
  readonly resolve: RedirectResolver;
  readonly stats: CallStats | undefined;
  readonly maxMessageBytes: number;
  readonly methodPath: string;
}

const DEADLINE_EXCEEDED = new WireError(status.DEADLINE_EXCEEDED, 'Deadline exceeded');

function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(okTrailers());
}

/** Whether the call can still be answered: not answered yet, and neither reset by the client nor cut with its connection. */
function answerable(stream: ServerHttp2Stream): boolean {
  return !stream.headersSent && !stream.closed && !stream.destroyed;
}

function fail(stream: ServerHttp2Stream, error: WireError): void {
  if (answerable(stream)) stream.respond(trailersOnlyResponse(error), { endStream: true });
}

/**
 * Answers a unary Redirect directly on its HTTP/2 stream: reads the framed request, resolves it
 * with the same resolver as grpc-js's handler, and responds with headers, the framed answer and
 * trailers (or a trailers-only error). It skips what grpc-js builds for every call (a call
 * object, metadata maps, an object-mode stream, listeners), which is most of a call's cost.
 */
export function createRedirectHotPath({ resolve, stats, maxMessageBytes, methodPath }: RedirectHotPathOptions) {
  return function answerRedirect(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    if (!isGrpcContentType(headers[http2.HTTP2_HEADER_CONTENT_TYPE] as string | undefined)) {
      stream.respond({ [http2.HTTP2_HEADER_STATUS]: http2.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE }, { endStream: true });
      return;
    }
    const encoding = headers['grpc-encoding'] as string | undefined;
    let deadline: NodeJS.Timeout | undefined;
    const timeout = headers['grpc-timeout'] as string | undefined;
    if (timeout !== undefined) {
      const ms = parseGrpcTimeout(timeout);
      if (ms instanceof WireError) {
        fail(stream, ms);
        return;
      }
      deadline = setTimeout(fail, ms, stream, DEADLINE_EXCEEDED);
      // A client that cancels (RST_STREAM) leaves no timer behind.
      stream.on('close', () => clearTimeout(deadline));
    }
    const reader = new UnaryRequestReader(maxMessageBytes, methodPath);
    let failed = false;
    stream.on('data', (chunk: Buffer) => {
      if (failed) return;
      const error = reader.push(chunk);
      if (error === undefined) return;
      failed = true;
      clearTimeout(deadline);
      fail(stream, error);
    });
    stream.on('end', () => {
      if (failed || !answerable(stream)) return;
      clearTimeout(deadline);
      const framed = reader.finish();
      const request = framed instanceof WireError ? framed : decompressRequest(reader.compressed, encoding, framed, maxMessageBytes);
      if (request instanceof WireError) {
        fail(stream, request);
        return;
      }
      const { code, text } = resolve(request, stats ? performance.now() : 0);
      if (code !== status.OK) {
        fail(stream, new WireError(code, text));
        return;
      }
      stream.respond(responseHeaders(), { waitForTrailers: true });
      stream.on('wantTrailers', sendOkTrailers);
      stream.end(writeFrameHeader(encodeResponse(text, FRAME_HEADER_BYTES)));
    });
  };
}
