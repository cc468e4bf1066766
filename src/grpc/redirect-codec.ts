import { isUtf8 } from 'node:buffer';
import { MalformedRequestError } from './malformed-request-error.js';

/**
 * Hand-written protobuf codec for the two one-field messages of `proto/loadbalancer.proto`:
 * `Request { string video = 1; }` and `Response { string redirect = 1; }`. It skips what a
 * generic codec builds per call (a message object, reflection over fields).
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;
const VIDEO_FIELD = 1;
/** Field 1, wire type 2: the only tag either message has. */
const STRING_FIELD_1_TAG = (1 << 3) | WIRE_LENGTH_DELIMITED;

/**
 * Reads `video` from a serialised Request. Unknown fields are skipped, as proto3 requires;
 * when field 1 repeats, the last one wins. Throws {@link MalformedRequestError}.
 */
export function decodeRequestVideo(bytes: Uint8Array): string {
  let video = '';
  let offset = 0;
  const end = bytes.length;
  while (offset < end) {
    const tag = readVarint(bytes, offset, end);
    offset = varintEnd;
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 0) throw new MalformedRequestError('malformed protobuf (field number 0)');
    if (wireType === WIRE_LENGTH_DELIMITED) {
      const length = readVarint(bytes, offset, end);
      offset = varintEnd;
      if (length > end - offset) throw new MalformedRequestError('malformed protobuf (truncated field)');
      if (field === VIDEO_FIELD) video = decodeUtf8(bytes, offset, offset + length);
      offset += length;
    } else if (field === VIDEO_FIELD) {
      throw new MalformedRequestError('malformed protobuf (field 1 "video" must be a string)');
    } else if (wireType === WIRE_VARINT) {
      readVarint(bytes, offset, end);
      offset = varintEnd;
    } else if (wireType === WIRE_FIXED64 || wireType === WIRE_FIXED32) {
      offset += wireType === WIRE_FIXED64 ? 8 : 4;
      if (offset > end) throw new MalformedRequestError('malformed protobuf (truncated field)');
    } else {
      throw new MalformedRequestError(`malformed protobuf (unsupported wire type ${wireType})`);
    }
  }
  return video;
}

/**
 * Serialises `Response { redirect }`; an empty string is the empty message, as in proto3.
 * `reserve` leading bytes are left for the caller (the hot path's gRPC frame header), so that a
 * framed answer is one allocation.
 */
export function encodeResponse(redirect: string, reserve = 0): Buffer {
  if (redirect === '') return Buffer.alloc(reserve);
  const length = Buffer.byteLength(redirect);
  const header = reserve + 1 + varintSize(length);
  const out = Buffer.allocUnsafe(header + length);
  let offset = reserve;
  out[offset++] = STRING_FIELD_1_TAG;
  let rest = length;
  while (rest > 0x7f) {
    out[offset++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  out[offset] = rest;
  out.write(redirect, header, 'utf8');
  return out;
}

/** Serialises `Request { video }`, for clients and tests. */
export function encodeRequest(video: string): Buffer {
  return encodeResponse(video);
}

/** Reads `redirect` from a serialised Response, for clients and tests. */
export function decodeResponseRedirect(bytes: Uint8Array): string {
  return decodeRequestVideo(bytes);
}

/** End offset of the last varint read; a module variable so that reading allocates nothing. */
let varintEnd = 0;

/** Reads a varint of up to 32 significant bits (tags and lengths in a 64 KiB message). */
function readVarint(bytes: Uint8Array, start: number, end: number): number {
  let value = 0;
  let shift = 0;
  for (let offset = start; offset < end && offset < start + 10; offset++) {
    const byte = bytes[offset] as number;
    if (shift < 32) value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) {
      varintEnd = offset + 1;
      return value > 0xffffffff ? 0xffffffff : value;
    }
  }
  throw new MalformedRequestError('malformed protobuf (truncated varint)');
}

function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value >>>= 7;
    size++;
  }
  return size;
}

function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = start; i < end; i++) {
    if ((bytes[i] as number) >= 0x80) {
      if (!isUtf8(bytes.subarray(start, end))) {
        throw new MalformedRequestError('field 1 "video" is not valid UTF-8');
      }
      return buffer.toString('utf8', start, end);
    }
  }
  return buffer.toString('latin1', start, end);
}
