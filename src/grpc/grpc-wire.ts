import { constants as http2 } from 'node:http2';
import { gunzipSync, inflateSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';

/**
 * The pieces of the gRPC-over-HTTP/2 protocol that the hot path speaks itself: message framing,
 * response headers and trailers, grpc-timeout, and request decompression. Plain functions and a
 * small reader, with the same status codes and messages that @grpc/grpc-js 1.14 sends.
 */

/** A call that ends with a status other than OK. */
export class WireError {
  constructor(
    readonly code: status,
    readonly details: string,
  ) {}
}

/** What grpc-js accepts; the hot path accepts the same. */
export const ACCEPTED_ENCODINGS = 'identity,deflate,gzip';
/** A gRPC message frame starts with a compressed-flag byte and a 4-byte big-endian length. */
export const FRAME_HEADER_BYTES = 5;

/** Response headers of a call that answers with a message; a new object per call (http2 adds `date` to it). */
export function responseHeaders(): Readonly<Record<string, string | number>> {
  return RESPONSE_HEADERS;
}

/** Trailers of a call that ended with OK, as grpc-js sends them. */
export function okTrailers(): Readonly<Record<string, string>> {
  return OK_TRAILERS;
}

// One object for every call: node:http2 copies headers and trailers before it touches them.
const RESPONSE_HEADERS = Object.freeze({
  [http2.HTTP2_HEADER_STATUS]: http2.HTTP_STATUS_OK,
  [http2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
  'grpc-accept-encoding': ACCEPTED_ENCODINGS,
  'grpc-encoding': 'identity',
});
const OK_TRAILERS = Object.freeze({ 'grpc-status': '0', 'grpc-message': 'OK' });

/**
 * A trailers-only response: the status is in the one HEADERS frame. The message is percent-encoded
 * with encodeURI, as grpc-js does. An unsupported encoding also says which ones are accepted.
 */
export function trailersOnlyResponse(error: WireError): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    [http2.HTTP2_HEADER_STATUS]: http2.HTTP_STATUS_OK,
    [http2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
    'grpc-status': error.code,
    'grpc-message': encodeURI(error.details),
  };
  if (error.code === status.UNIMPLEMENTED) headers['grpc-accept-encoding'] = ACCEPTED_ENCODINGS;
  return headers;
}

/** Whether a request's content-type is gRPC's; grpc-js answers anything else with HTTP 415. */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return typeof contentType === 'string' && contentType.startsWith('application/grpc');
}

const GRPC_TIMEOUT = /(\d{1,8})\s*([HMSmun])/;
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** Milliseconds from a `grpc-timeout` header (`100m`, `5S`, ...); a WireError for a value grpc-js refuses. */
export function parseGrpcTimeout(header: string): number | WireError {
  const match = GRPC_TIMEOUT.exec(header);
  if (match === null) return new WireError(status.INTERNAL, `Invalid grpc-timeout value "${header}"`);
  return (Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number)) | 0;
}

/**
 * The message of a request, decompressed when its frame says so, never larger than `maxBytes`:
 * gzip and deflate as grpc-js decompresses them, bounded so that a small compressed message
 * cannot expand without limit.
 */
export function decompressRequest(compressed: boolean, encoding: string | undefined, payload: Buffer, maxBytes: number): Buffer | WireError {
  if (!compressed || encoding === undefined || encoding === 'identity') return payload;
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    return new WireError(status.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`);
  }
  try {
    const options = { maxOutputLength: maxBytes };
    return encoding === 'gzip' ? gunzipSync(payload, options) : inflateSync(payload, options);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      return new WireError(status.RESOURCE_EXHAUSTED, `Received message that decompresses to a size larger than ${maxBytes}`);
    }
    return new WireError(status.INTERNAL, 'Failed to decompress message');
  }
}

/** Fills in the frame header of `frame`, whose first FRAME_HEADER_BYTES were left for it: uncompressed, and its length. */
export function writeFrameHeader(frame: Buffer): Buffer {
  frame[0] = 0;
  frame.writeUInt32BE(frame.length - FRAME_HEADER_BYTES, 1);
  return frame;
}

/**
 * DATA chunks one request may take: a 64 KiB message comes in a handful (16 KiB frames, split
 * where the reads fall); 256 allows frames of 256 bytes. A message sent one byte per frame costs
 * nghttp2 and node:http2 a frame each, whatever the reader does: past this, the call fails.
 */
export const MAX_REQUEST_DATA_CHUNKS = 256;

/**
 * Reads the one message of a unary request from DATA chunks as they come. Nothing beyond the
 * size limit is kept: a frame that announces more than `maxBytes` fails at its header. The
 * common case, one whole frame in one chunk, is a view of that chunk with no copy; a frame in
 * pieces is joined once it is whole (or its header is), so the bytes are copied at most twice,
 * whatever the pieces' sizes.
 */
export class UnaryRequestReader {
  /** The request message (still compressed if `compressed`), once a whole frame has arrived. */
  message: Buffer | undefined;
  compressed = false;
  /** Chunks of a frame not yet whole, and their length. */
  private pending: Buffer[] | undefined;
  private pendingBytes = 0;
  /** What the pending chunks must reach before they are joined: a frame header, then the whole frame. */
  private needed = FRAME_HEADER_BYTES;
  private chunks = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly methodPath: string,
  ) {}

  /** Takes the next chunk; a WireError when the request can no longer be valid. */
  push(chunk: Buffer): WireError | undefined {
    if (++this.chunks > MAX_REQUEST_DATA_CHUNKS) {
      return new WireError(status.RESOURCE_EXHAUSTED, `Received a request in more than ${MAX_REQUEST_DATA_CHUNKS} DATA frames`);
    }
    let data = chunk;
    if (this.pending !== undefined) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.needed) return undefined;
      data = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = undefined;
    }
    while (data.length >= FRAME_HEADER_BYTES) {
      const length = data.readUInt32BE(1);
      if (length > this.maxBytes) {
        return new WireError(status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${this.maxBytes})`);
      }
      if (data.length < FRAME_HEADER_BYTES + length) {
        this.needed = FRAME_HEADER_BYTES + length;
        break;
      }
      if (this.message !== undefined) {
        return new WireError(status.UNIMPLEMENTED, `Received a second request message for server streaming method ${this.methodPath}`);
      }
      this.compressed = data[0] === 1;
      this.message = data.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
      data = data.subarray(FRAME_HEADER_BYTES + length);
      this.needed = FRAME_HEADER_BYTES;
    }
    if (data.length > 0) {
      this.pending = [data];
      this.pendingBytes = data.length;
    }
    return undefined;
  }

  /** At the end of the request: the message, or the error grpc-js gives a request without one. */
  finish(): Buffer | WireError {
    // A partial frame after a whole message is dropped, as grpc-js drops it.
    return this.message ?? new WireError(status.UNIMPLEMENTED, `Received no request message for server streaming method ${this.methodPath}`);
  }
}
