import { deflateSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { encodeRequest } from '../../src/grpc/redirect-codec.js';
import { grpcFrame, H2GrpcClient, type H2Answer, type H2Request } from '../helpers/h2-grpc-call.js';
import { startService } from '../helpers/service-process.js';

const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const MESSAGE = encodeRequest(VIDEO);
const METHOD = '/loadBalancer.loadBalancer/Redirect';

interface ProtocolCase {
  readonly name: string;
  readonly request: H2Request;
  /** What both paths must answer: the HTTP status, the gRPC status and its message. */
  readonly httpStatus: number;
  readonly grpcStatus?: string;
  readonly grpcMessage?: string | RegExp;
}

/** What gRPC clients send besides a plain unary call, and what grpc-js answers to each. */
const CASES: ProtocolCase[] = [
  { name: 'a plain call', request: { chunks: [grpcFrame(MESSAGE)] }, httpStatus: 200, grpcStatus: '0', grpcMessage: 'OK' },
  { name: 'a message split over three DATA frames', request: { chunks: [grpcFrame(MESSAGE).subarray(0, 3), grpcFrame(MESSAGE).subarray(3, 20), grpcFrame(MESSAGE).subarray(20)] }, httpStatus: 200, grpcStatus: '0', grpcMessage: 'OK' },
  { name: 'content-type application/json', request: { headers: { 'content-type': 'application/json' }, chunks: [grpcFrame(MESSAGE)] }, httpStatus: 415 },
  { name: 'content-type application/grpc+proto', request: { headers: { 'content-type': 'application/grpc+proto' }, chunks: [grpcFrame(MESSAGE)] }, httpStatus: 200, grpcStatus: '0' },
  { name: 'no message at all', request: { chunks: [] }, httpStatus: 200, grpcStatus: '12', grpcMessage: `Received no request message for server streaming method ${METHOD}` },
  { name: 'a truncated frame', request: { chunks: [grpcFrame(MESSAGE).subarray(0, 12)] }, httpStatus: 200, grpcStatus: '12', grpcMessage: /^Received no request message/ },
  { name: 'half a frame header', request: { chunks: [Buffer.from([0, 0, 0])] }, httpStatus: 200, grpcStatus: '12', grpcMessage: /^Received no request message/ },
  { name: 'a second message in a unary call', request: { chunks: [grpcFrame(MESSAGE), grpcFrame(MESSAGE)] }, httpStatus: 200, grpcStatus: '12', grpcMessage: `Received a second request message for server streaming method ${METHOD}` },
  { name: 'a whole message and then a truncated one', request: { chunks: [grpcFrame(MESSAGE), grpcFrame(MESSAGE).subarray(0, 9)] }, httpStatus: 200, grpcStatus: '0' },
  { name: 'an empty message', request: { chunks: [grpcFrame(Buffer.alloc(0))] }, httpStatus: 200, grpcStatus: '3', grpcMessage: /^video: / },
  { name: 'a frame announcing 70,000 bytes', request: { chunks: [Buffer.from([0, 0, 1, 0x11, 0x70])] }, httpStatus: 200, grpcStatus: '8', grpcMessage: 'Received message larger than max (70000 vs 65536)' },
  { name: 'gzip', request: { headers: { 'grpc-encoding': 'gzip' }, chunks: [grpcFrame(gzipSync(MESSAGE), true)] }, httpStatus: 200, grpcStatus: '0' },
  { name: 'deflate', request: { headers: { 'grpc-encoding': 'deflate' }, chunks: [grpcFrame(deflateSync(MESSAGE), true)] }, httpStatus: 200, grpcStatus: '0' },
  { name: 'grpc-encoding gzip on an uncompressed frame', request: { headers: { 'grpc-encoding': 'gzip' }, chunks: [grpcFrame(MESSAGE)] }, httpStatus: 200, grpcStatus: '0' },
  { name: 'an unsupported encoding', request: { headers: { 'grpc-encoding': 'snappy' }, chunks: [grpcFrame(MESSAGE, true)] }, httpStatus: 200, grpcStatus: '12', grpcMessage: 'Received message compressed with unsupported encoding "snappy"' },
  { name: 'gzip that is not gzip', request: { headers: { 'grpc-encoding': 'gzip' }, chunks: [grpcFrame(MESSAGE, true)] }, httpStatus: 200, grpcStatus: '13', grpcMessage: 'Failed to decompress message' },
  { name: 'gzip that expands past 64 KiB', request: { headers: { 'grpc-encoding': 'gzip' }, chunks: [grpcFrame(gzipSync(Buffer.alloc(1 << 20, 0x61)), true)] }, httpStatus: 200, grpcStatus: '8', grpcMessage: 'Received message that decompresses to a size larger than 65536' },
  { name: 'an invalid grpc-timeout', request: { headers: { 'grpc-timeout': 'soon' }, chunks: [grpcFrame(MESSAGE)] }, httpStatus: 200, grpcStatus: '13', grpcMessage: 'Invalid grpc-timeout value "soon"' },
  { name: 'a request that does not complete within its grpc-timeout', request: { headers: { 'grpc-timeout': '200m' }, chunks: [grpcFrame(MESSAGE).subarray(0, 10)], end: false }, httpStatus: 200, grpcStatus: '4', grpcMessage: 'Deadline exceeded' },
  { name: 'a grpc-timeout the call completes within', request: { headers: { 'grpc-timeout': '5S' }, chunks: [grpcFrame(MESSAGE)] }, httpStatus: 200, grpcStatus: '0' },
  { name: 'another method', request: { path: '/loadBalancer.loadBalancer/Other', chunks: [grpcFrame(MESSAGE)] }, httpStatus: 200, grpcStatus: '12', grpcMessage: /Other/ },
];

const services = await Promise.all(
  (['on', 'off'] as const).map((hotPath) => startService({ WORKERS: '1', CDN_HOST: 'cdn.test', ORIGIN_EVERY: '0', HOT_PATH: hotPath })),
);
t.teardown(() => Promise.all(services.map((s) => s.stop())));
const [hot, grpcJs] = services.map((service) => new H2GrpcClient(service.port)) as [H2GrpcClient, H2GrpcClient];
t.teardown(() => [hot, grpcJs].forEach((c) => c.close()));

/** The parts of an answer a client acts on. */
const essentials = (answer: H2Answer) => ({
  httpStatus: answer.httpStatus,
  grpcStatus: answer.grpcStatus,
  grpcMessage: answer.grpcMessage,
  contentType: answer.headers['content-type'],
  body: answer.data.toString('hex'),
  error: answer.error,
});

t.test('the hot path answers every protocol case exactly as grpc-js does', async (t) => {
  for (const testCase of CASES) {
    const [fromHotPath, fromGrpcJs] = await Promise.all([hot.call(testCase.request), grpcJs.call(testCase.request)]);
    t.same(essentials(fromHotPath), essentials(fromGrpcJs), `${testCase.name}: same answer from both paths`);
    t.equal(fromHotPath.httpStatus, testCase.httpStatus, `${testCase.name}: HTTP ${testCase.httpStatus}`);
    t.equal(fromHotPath.grpcStatus, testCase.grpcStatus, `${testCase.name}: grpc-status ${testCase.grpcStatus}`);
    if (testCase.grpcMessage !== undefined) t.match(fromHotPath.grpcMessage, testCase.grpcMessage, `${testCase.name}: says why`);
  }
});

t.test('an unsupported encoding is told which encodings are accepted', async (t) => {
  const answer = await hot.call({ headers: { 'grpc-encoding': 'snappy' }, chunks: [grpcFrame(MESSAGE, true)] });
  t.equal(answer.headers['grpc-accept-encoding'], 'identity,deflate,gzip');
});

t.test('a successful answer carries the headers grpc-js sends', async (t) => {
  const [fromHotPath, fromGrpcJs] = await Promise.all([hot.call(CASES[0]!.request), grpcJs.call(CASES[0]!.request)]);
  for (const name of ['content-type', 'grpc-encoding', 'grpc-accept-encoding']) {
    t.equal(fromHotPath.headers[name], fromGrpcJs.headers[name], `${name}: ${fromGrpcJs.headers[name]}`);
  }
});

t.test('calls cancelled by the client (RST_STREAM) leave the worker serving', async (t) => {
  const cancelled = await Promise.all(
    Array.from({ length: 50 }, () => hot.call({ headers: { 'grpc-timeout': '60S' }, chunks: [grpcFrame(MESSAGE).subarray(0, 10)], end: false, cancelAfterMs: 20 })),
  );
  t.ok(cancelled.every((a) => a.grpcStatus === undefined), 'no answer was sent on a cancelled call');
  t.equal((await hot.call(CASES[0]!.request)).grpcStatus, '0', 'the next call is answered');
  t.equal(services[0]!.logs.filter((l) => (l['level'] as number) >= 50).length, 0, 'nothing was logged as an error');
});

t.test('hot-path calls count as activity for MAX_CONNECTION_IDLE_MS; an idle connection is still closed', async (t) => {
  const service = await startService({ WORKERS: '1', MAX_CONNECTION_IDLE_MS: '400' });
  t.teardown(() => service.stop());
  const client = new H2GrpcClient(service.port);
  t.teardown(() => client.close());
  let goawayAt = 0;
  client.onGoaway(() => (goawayAt = Date.now()));
  const busyUntil = Date.now() + 1500;
  while (Date.now() < busyUntil) {
    t.equal((await client.call({ chunks: [grpcFrame(MESSAGE)] })).grpcStatus, '0');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(goawayAt, 0, 'a connection with a call every 100 ms was not closed as idle (limit 400 ms)');
  const idleSince = Date.now();
  while (goawayAt === 0 && Date.now() - idleSince < 3000) await new Promise((resolve) => setTimeout(resolve, 20));
  t.ok(goawayAt > 0, `once idle, the server closed it after ${goawayAt - idleSince} ms`);
});
