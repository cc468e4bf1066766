import t from 'tap';
import { RawConnection, REDIRECT_PATH } from '../../bench/h2-attack/attacks.js';
import { ErrorCode, Flag, frame, FrameType, goaway, grpcRedirectRequest, grpcRequestHeaders, headers, settings } from '../../bench/h2-attack/frames.js';
import { findFreePort } from '../../src/cluster/free-port.js';
import { startService } from '../helpers/service-process.js';

/**
 * How real clients end a connection, spoken frame by frame: grpc-go 1.6x (the kubelet's gRPC
 * probes, current Go services) sends GOAWAY(NO_ERROR, last-stream-id = its own last stream,
 * "client transport shutdown") after its calls, which nghttp2 refuses as "invalid last_stream_id".
 * That is a close, not abuse; a client that really breaks the protocol still is.
 */
const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const metricsPort = await findFreePort('127.0.0.1');
const service = await startService({ WORKERS: '1', METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1', LOG_LEVEL: 'debug' });
t.teardown(() => service.stop());

async function protocolErrors(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(/^balancer_connections_closed_total\{reason="protocol_error",port="grpc"\} (\d+)$/m.exec(text)?.[1]);
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A Redirect call on `streamId`, whole: headers, then the message with END_STREAM. */
function call(streamId: number): Buffer {
  return Buffer.concat([headers(streamId, grpcRequestHeaders(REDIRECT_PATH)), frame(FrameType.DATA, Flag.END_STREAM, streamId, grpcRedirectRequest(VIDEO))]);
}

async function connectAndCall(streams: readonly number[]): Promise<RawConnection> {
  const connection = new RawConnection(service.port);
  await connection.accepted;
  for (const id of streams) await connection.write(call(id));
  await waitUntil(() => streams.every((id) => connection.endedStreams.has(id)), 'the calls answered');
  return connection;
}

t.test("grpc-go 1.6x's close (GOAWAY NO_ERROR naming its last stream) is not counted or logged as abuse", async (t) => {
  const before = await protocolErrors();
  const since = service.logs.length;
  for (const streams of [[1], [1, 3, 5]]) {
    const connection = await connectAndCall(streams);
    await connection.write(goaway(streams.at(-1) as number, ErrorCode.NO_ERROR, 'client transport shutdown'));
    connection.socket.end();
    await connection.closed;
    t.equal(connection.goawayDebug, 'GOAWAY: invalid last_stream_id', `nghttp2 did refuse the GOAWAY after ${streams.length} call(s): the case is reproduced`);
  }
  await service.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('client closed its connection'), 5000, since);
  t.equal(await protocolErrors(), before, 'balancer_connections_closed_total{reason="protocol_error"} did not move');
  t.notOk(service.logs.slice(since).some((l) => l.reason === 'protocol_error'), 'no abuse warning');
});

t.test('a client that breaks the protocol is still counted and logged', async (t) => {
  const cases: Array<{ name: string; bytes: (c: RawConnection) => Promise<void> }> = [
    // SETTINGS_ENABLE_PUSH must be 0 or 1 (RFC 9113 6.5.2).
    { name: 'a bad SETTINGS value before any call', bytes: (c) => c.write(settings({ 2: 2 })) },
    { name: 'GOAWAY naming its own stream while a call is still open', bytes: async (c) => {
      await c.write(headers(7, grpcRequestHeaders(REDIRECT_PATH)));
      await c.write(goaway(7, ErrorCode.NO_ERROR, 'client transport shutdown'));
    } },
  ];
  for (const { name, bytes } of cases) {
    const before = await protocolErrors();
    const since = service.logs.length;
    const connection = name.includes('before any call') ? new RawConnection(service.port) : await connectAndCall([1]);
    await connection.accepted;
    await bytes(connection);
    await connection.closed;
    t.equal(connection.goawayCode, ErrorCode.PROTOCOL_ERROR, `${name}: the server ends it with PROTOCOL_ERROR`);
    await waitUntil(() => service.logs.length > since, 'a log line');
    t.equal(await protocolErrors(), before + 1, `${name}: counted as protocol_error`);
    const warning = await service.waitForLog((l) => l.reason === 'protocol_error', 5000, since).catch(() => undefined);
    // The abuse log is rate-limited per reason (10 s): the first case logs, the second is counted only.
    if (name.includes('before any call')) t.equal(warning?.level, 40, `${name}: logged as a warning with the peer ${warning?.peer}`);
  }
});
