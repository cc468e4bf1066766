/**
 * HTTP/2 frames and HPACK header blocks written byte by byte (RFC 9113, RFC 7541), so that an
 * attack client can send what no well-behaved library will: endless CONTINUATION, header blocks
 * that decode to megabytes, floods of control frames.
 */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const Setting = { HEADER_TABLE_SIZE: 1, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5 } as const;
export const ErrorCode = { NO_ERROR: 0, PROTOCOL_ERROR: 1, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

export function settings(values: Record<number, number> = {}): Buffer {
  const payload = Buffer.alloc(6 * Object.keys(values).length);
  Object.entries(values).forEach(([id, value], i) => {
    payload.writeUInt16BE(Number(id), i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

export const settingsAck = (): Buffer => frame(FrameType.SETTINGS, Flag.ACK, 0);
export const ping = (ack = false): Buffer => frame(FrameType.PING, ack ? Flag.ACK : 0, 0, Buffer.alloc(8));

export function rstStream(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

/** GOAWAY: the last stream the sender processed, an error code, and debug data. */
export function goaway(lastStreamId: number, code: number, debugData = ''): Buffer {
  const payload = Buffer.alloc(8 + Buffer.byteLength(debugData, 'latin1'));
  payload.writeUInt32BE(lastStreamId & 0x7fffffff);
  payload.writeUInt32BE(code, 4);
  payload.write(debugData, 8, 'latin1');
  return frame(FrameType.GOAWAY, 0, 0, payload);
}

export function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

export function priority(streamId: number, dependsOn: number, weight: number): Buffer {
  const payload = Buffer.alloc(5);
  payload.writeUInt32BE(dependsOn);
  payload[4] = weight;
  return frame(FrameType.PRIORITY, 0, streamId, payload);
}

/** HPACK integer with an N-bit prefix (RFC 7541 5.1); `pattern` holds the bits above the prefix. */
function integer(value: number, prefixBits: number, pattern: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [pattern | value];
  const bytes = [pattern | max];
  for (value -= max; value >= 0x80; value >>>= 7) bytes.push((value & 0x7f) | 0x80);
  bytes.push(value);
  return bytes;
}

const text = (s: string): number[] => [...integer(Buffer.byteLength(s), 7, 0), ...Buffer.from(s)];

/** HPACK field representations (RFC 7541 6). */
export const hpack = {
  /** A static or dynamic table entry (dynamic entries start at 62). */
  indexed: (index: number): number[] => integer(index, 7, 0x80),
  /** A new name and value, added to the dynamic table. */
  literalIndexed: (name: string, value: string): number[] => [0x40, ...text(name), ...text(value)],
  /** A new name and value, not indexed. */
  literal: (name: string, value: string): number[] => [0x00, ...text(name), ...text(value)],
  /** A static table name with a new value, not indexed. */
  literalWithName: (nameIndex: number, value: string): number[] => [...integer(nameIndex, 4, 0), ...text(value)],
};

/** The request headers of a gRPC call to `path`: POST, http, the path, application/grpc, te: trailers. */
export function grpcRequestHeaders(path: string, authority = 'localhost'): number[] {
  return [
    ...hpack.indexed(3), // :method POST
    ...hpack.indexed(6), // :scheme http
    ...hpack.literalWithName(4, path), // :path
    ...hpack.literalWithName(1, authority), // :authority
    ...hpack.literalWithName(31, 'application/grpc'), // content-type
    ...hpack.literal('te', 'trailers'),
  ];
}

export function headers(streamId: number, block: number[] | Buffer, flags: number = Flag.END_HEADERS): Buffer {
  return frame(FrameType.HEADERS, flags, streamId, Buffer.from(block));
}

/** A gRPC message in its 5-byte frame: the Redirect request `{ video }`. */
export function grpcRedirectRequest(video: string): Buffer {
  const field = Buffer.concat([Buffer.from([0x0a, ...integer(Buffer.byteLength(video), 7, 0)]), Buffer.from(video)]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(field.length, 1);
  return Buffer.concat([prefix, field]);
}

/** Splits what a server sends into frames: type, flags, stream and payload; the rest waits for more. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (type: number, flags: number, streamId: number, payload: Buffer) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) return;
      const type = this.pending[3] as number;
      const flags = this.pending[4] as number;
      const streamId = this.pending.readUInt32BE(5) & 0x7fffffff;
      onFrame(type, flags, streamId, this.pending.subarray(9, 9 + length));
      this.pending = this.pending.subarray(9 + length);
    }
  }
}
