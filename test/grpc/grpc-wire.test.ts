import { deflateSync, gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import t from 'tap';
import {
  decompressRequest,
  isGrpcContentType,
  MAX_REQUEST_DATA_CHUNKS,
  parseGrpcTimeout,
  trailersOnlyResponse,
  UnaryRequestReader,
  WireError,
  writeFrameHeader,
} from '../../src/grpc/grpc-wire.js';

const METHOD = '/loadBalancer.loadBalancer/Redirect';
const frame = (payload: Buffer, flag = 0) => Buffer.concat([Buffer.from([flag, 0, 0, 0, payload.length]), payload]);

t.test('UnaryRequestReader: one frame in one chunk is a view of the chunk, not a copy', async (t) => {
  const chunk = frame(Buffer.from('hello'));
  const reader = new UnaryRequestReader(100, METHOD);
  t.equal(reader.push(chunk), undefined);
  const message = reader.finish() as Buffer;
  t.equal(message.toString(), 'hello');
  t.equal(message.buffer, chunk.buffer, 'shares the chunk\'s memory');
  t.equal(reader.compressed, false);
});

t.test('UnaryRequestReader: a frame split anywhere is put back together', async (t) => {
  const whole = frame(Buffer.from('split message'), 1);
  for (let cut = 1; cut < whole.length; cut++) {
    const reader = new UnaryRequestReader(100, METHOD);
    reader.push(whole.subarray(0, cut));
    reader.push(whole.subarray(cut));
    t.equal((reader.finish() as Buffer).toString(), 'split message', `cut at ${cut}`);
    t.equal(reader.compressed, true);
  }
});

t.test('UnaryRequestReader: a frame in 1-byte chunks is joined once, not copied again at every chunk', async (t) => {
  const text = 'm'.repeat(200);
  const whole = frame(Buffer.from(text.slice(0, 200)));
  whole.writeUInt32BE(200, 1);
  const reader = new UnaryRequestReader(1000, METHOD);
  const concat = t.capture(Buffer, 'concat', Buffer.concat);
  for (let i = 0; i < whole.length; i++) t.equal(reader.push(whole.subarray(i, i + 1)), undefined);
  const joins = concat();
  t.equal((reader.finish() as Buffer).toString(), text, `the ${whole.length}-byte frame arrives whole`);
  t.ok(joins.length <= 2, `joined ${joins.length} times (once for the header, once for the frame)`);
  t.ok(joins.reduce((bytes, call) => bytes + (call.args[1] as number), 0) <= 2 * whole.length, 'at most twice its bytes copied');
});

t.test(`UnaryRequestReader: more than ${MAX_REQUEST_DATA_CHUNKS} DATA chunks for one request fail it`, async (t) => {
  const reader = new UnaryRequestReader(100_000, METHOD);
  const whole = frame(Buffer.alloc(250));
  whole.writeUInt32BE(1000, 1);
  for (let i = 0; i < MAX_REQUEST_DATA_CHUNKS; i++) t.equal(reader.push(whole.subarray(i, i + 1)), undefined, `chunk ${i + 1}`, { diagnostic: false });
  t.same(reader.push(Buffer.alloc(1)), new WireError(status.RESOURCE_EXHAUSTED, `Received a request in more than ${MAX_REQUEST_DATA_CHUNKS} DATA frames`));
});

t.test('UnaryRequestReader: the limit is checked at the frame header, before any of the message is kept', async (t) => {
  const reader = new UnaryRequestReader(10, METHOD);
  const error = reader.push(Buffer.from([0, 0, 0, 0, 11]));
  t.same(error, new WireError(status.RESOURCE_EXHAUSTED, 'Received message larger than max (11 vs 10)'));
  t.equal(new UnaryRequestReader(10, METHOD).push(frame(Buffer.alloc(10))), undefined, 'exactly the limit is fine');
});

t.test('UnaryRequestReader: no message, a truncated one, or two of them', async (t) => {
  const none = new UnaryRequestReader(100, METHOD);
  t.same(none.finish(), new WireError(status.UNIMPLEMENTED, `Received no request message for server streaming method ${METHOD}`));
  const truncated = new UnaryRequestReader(100, METHOD);
  truncated.push(frame(Buffer.from('abc')).subarray(0, 6));
  t.ok(truncated.finish() instanceof WireError, 'a truncated frame is no message');
  const two = new UnaryRequestReader(100, METHOD);
  t.same(two.push(Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))])), new WireError(status.UNIMPLEMENTED, `Received a second request message for server streaming method ${METHOD}`));
  const trailingPartial = new UnaryRequestReader(100, METHOD);
  trailingPartial.push(Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b')).subarray(0, 3)]));
  t.equal((trailingPartial.finish() as Buffer).toString(), 'a', 'a partial second frame is dropped, as grpc-js drops it');
});

t.test('parseGrpcTimeout: every unit grpc-js knows, and its refusal', async (t) => {
  t.equal(parseGrpcTimeout('1H'), 3_600_000);
  t.equal(parseGrpcTimeout('2M'), 120_000);
  t.equal(parseGrpcTimeout('5S'), 5000);
  t.equal(parseGrpcTimeout('250m'), 250);
  t.equal(parseGrpcTimeout('1500u'), 1);
  t.equal(parseGrpcTimeout('99999999n'), 99);
  t.same(parseGrpcTimeout('soon'), new WireError(status.INTERNAL, 'Invalid grpc-timeout value "soon"'));
});

t.test('decompressRequest: identity, gzip, deflate, unknown, corrupt, and a bomb', async (t) => {
  const message = Buffer.from('video message');
  t.equal(decompressRequest(false, 'gzip', message, 100), message, 'an uncompressed frame is taken as it is');
  t.equal(decompressRequest(true, undefined, message, 100), message, 'no grpc-encoding: identity');
  t.same(decompressRequest(true, 'gzip', gzipSync(message), 100), message);
  t.same(decompressRequest(true, 'deflate', deflateSync(message), 100), message);
  t.same(decompressRequest(true, 'br', message, 100), new WireError(status.UNIMPLEMENTED, 'Received message compressed with unsupported encoding "br"'));
  t.same(decompressRequest(true, 'gzip', message, 100), new WireError(status.INTERNAL, 'Failed to decompress message'));
  t.same(
    decompressRequest(true, 'gzip', gzipSync(Buffer.alloc(1 << 20)), 100),
    new WireError(status.RESOURCE_EXHAUSTED, 'Received message that decompresses to a size larger than 100'),
  );
});

t.test('headers: content-type check, trailers-only errors, frame header', async (t) => {
  t.ok(isGrpcContentType('application/grpc'));
  t.ok(isGrpcContentType('application/grpc+proto'));
  t.notOk(isGrpcContentType('application/json'));
  t.notOk(isGrpcContentType(undefined));
  t.same(trailersOnlyResponse(new WireError(status.INVALID_ARGUMENT, 'video: 100% wrong')), {
    ':status': 200,
    'content-type': 'application/grpc+proto',
    'grpc-status': 3,
    'grpc-message': 'video:%20100%25%20wrong',
  });
  t.equal(trailersOnlyResponse(new WireError(status.UNIMPLEMENTED, 'x'))['grpc-accept-encoding'], 'identity,deflate,gzip');
  t.same([...writeFrameHeader(Buffer.from([9, 9, 9, 9, 9, 0x61, 0x62]))], [0, 0, 0, 0, 2, 0x61, 0x62]);
});
