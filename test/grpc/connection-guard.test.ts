import { connect, constants, createServer, type ClientHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { AbusiveConnectionError, CONNECTION_CLOSE_REASONS, ConnectionGuard, headerBytes, rawHeaderBytes, reasonFor } from '../../src/grpc/connection-guard.js';

const nghttp2Error = (errno: number, code = 'ERR_HTTP2_ERROR') => Object.assign(new Error('nghttp2'), { errno, code });

t.test('each way node:http2 ends an abusive session maps to one reason', async (t) => {
  t.equal(reasonFor(nghttp2Error(-904)), 'flood');
  t.equal(reasonFor(nghttp2Error(-905)), 'continuation_flood');
  t.equal(reasonFor(nghttp2Error(-505)), 'protocol_error');
  t.equal(reasonFor(nghttp2Error(-903)), 'protocol_error', 'any other nghttp2 error, such as a bad preface');
  t.equal(reasonFor(Object.assign(new Error('too many'), { code: 'ERR_HTTP2_TOO_MANY_INVALID_FRAMES' })), 'invalid_frames');
  t.equal(reasonFor(new AbusiveConnectionError('rejected_headers')), 'rejected_headers');
});

t.test("a header block's size is the same from node:http2's flat list as from its object", async (t) => {
  const headers = { ':path': '/loadBalancer.loadBalancer/Redirect', ':authority': 'balancer:50051', 'content-type': 'application/grpc', te: 'trailers' };
  // 102 bytes of names and values, and 8 for each of the 4 fields.
  t.equal(rawHeaderBytes(Object.entries(headers).flat()), 134);
  t.equal(headerBytes(headers), 134);
  // A repeated field is one entry per field, as on the wire.
  t.equal(rawHeaderBytes(['x-a', '1', 'x-a', '2']), 24);
});

t.test('a peer that resets its TCP connection is no abuse', async (t) => {
  t.equal(reasonFor(Object.assign(new Error('read ECONNRESET'), { errno: -104, code: 'ECONNRESET' })), undefined);
  t.equal(reasonFor(Object.assign(new Error('write EPIPE'), { errno: -32, code: 'EPIPE' })), undefined);
  t.equal(reasonFor(new Error('no errno')), undefined);
});

t.test('every reason is a metric label of its own', async (t) => {
  t.equal(new Set(CONNECTION_CLOSE_REASONS).size, CONNECTION_CLOSE_REASONS.length);
  for (const reason of CONNECTION_CLOSE_REASONS) t.match(reason, /^[a-z_]+$/);
});

async function guardedServer(t: Test, maxPeerResetsPerSecond: number, maxHeaderListSize?: number) {
  const closed: string[] = [];
  const guard = new ConnectionGuard({
    maxConnections: 100,
    maxRejectedStreamsPerSecond: 10,
    maxPeerResetsPerSecond,
    unexplainedBytesBurst: 1 << 20,
    unexplainedBytesPerSecond: 1 << 20,
    onClose: (reason) => closed.push(reason),
  });
  const server = createServer(maxHeaderListSize === undefined ? {} : { settings: { maxHeaderListSize } });
  guard.attach(server);
  // Never answers, so every reset comes before the answer; a stream ended with its session's error
  // needs a listener, as the hot path and grpc-js give it.
  const received = { streams: 0 };
  server.on('stream', (stream) => {
    received.streams++;
    stream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    guard.stop();
    server.close();
  });
  return { closed, received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Resolves when `condition` holds; rejects naming `what` after `timeoutMs`. */
async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The code of the next GOAWAY `client` receives, or a text saying none came within `timeoutMs`. */
function nextGoaway(client: ClientHttp2Session, timeoutMs = 5000): Promise<number | string> {
  return Promise.race([
    new Promise<number>((resolve) => client.once('goaway', resolve)),
    new Promise<string>((resolve) => setTimeout(() => resolve(`no GOAWAY within ${timeoutMs} ms`), timeoutMs).unref()),
  ]);
}

/** Opens `count` calls, waits until the server has them all, then cancels them all (RST_STREAM CANCEL). */
async function cancelCalls(client: ClientHttp2Session, received: { streams: number }, count: number): Promise<void> {
  const before = received.streams;
  const calls = Array.from({ length: count }, () => client.request({ ':method': 'POST', ':path': '/x' }));
  for (const call of calls) call.on('error', () => {});
  await eventually(() => received.streams - before >= count, `the server received ${count} calls`);
  for (const call of calls) call.close(constants.NGHTTP2_CANCEL);
}

t.test('a client that resets unanswered calls faster than the limit is closed with GOAWAY ENHANCE_YOUR_CALM (rapid_reset)', async (t) => {
  const { closed, received, url } = await guardedServer(t, 100);
  const client = connect(url);
  client.on('error', () => {});
  t.teardown(() => client.destroy());
  const goaway = nextGoaway(client);
  await cancelCalls(client, received, 300);
  t.equal(await goaway, constants.NGHTTP2_ENHANCE_YOUR_CALM, 'GOAWAY ENHANCE_YOUR_CALM');
  await eventually(() => closed.length > 0, 'the close counted');
  t.same(closed, ['rapid_reset'], 'counted as rapid_reset');
});

t.test('a client that cancels fewer calls than the limit keeps its connection', async (t) => {
  const { closed, received, url } = await guardedServer(t, 100);
  const client = connect(url);
  t.teardown(() => client.destroy());
  let goaway = false;
  client.on('goaway', () => (goaway = true));
  await cancelCalls(client, received, 60);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(goaway, false, 'no GOAWAY');
  t.same(closed, [], 'nothing counted');
  t.equal(client.closed || client.destroyed, false, 'the connection is still open');
});

t.test('a connection silent long enough to be checked less often is still closed once its header blocks are rejected', async (t) => {
  const { closed, url } = await guardedServer(t, 100, 1024);
  const client = connect(url);
  client.on('error', () => {});
  t.teardown(() => client.destroy());
  await new Promise((resolve) => client.once('remoteSettings', resolve));
  // Ten times the sweeps after which a silent connection is checked every fifth sweep only.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const started = performance.now();
  // Header blocks over the 1 KiB limit: node:http2 resets each stream without telling JS.
  const calls = Array.from({ length: 40 }, () => client.request({ ':method': 'POST', ':path': '/x', 'x-padding': 'p'.repeat(2048) }));
  for (const call of calls) call.on('error', () => {});
  const code = await nextGoaway(client);
  t.equal(code, constants.NGHTTP2_ENHANCE_YOUR_CALM, 'GOAWAY ENHANCE_YOUR_CALM');
  if (code !== constants.NGHTTP2_ENHANCE_YOUR_CALM) return;
  const cutOffMs = performance.now() - started;
  // The server counts it on 'sessionError', which may come after the GOAWAY reached the client.
  await eventually(() => closed.length > 0, 'the close counted');
  t.same(closed, ['rejected_headers'], 'counted as rejected_headers');
  // A sweep every 10 ms and a silent connection every 50: far under this even on a busy machine.
  t.ok(cutOffMs < 2000, `cut off ${cutOffMs.toFixed(0)} ms after it woke up`);
});

t.test('a connection with no stream open for maxIdleMs is closed with GOAWAY NO_ERROR; an open stream keeps it', async (t) => {
  const guard = new ConnectionGuard({
    maxConnections: 100,
    maxRejectedStreamsPerSecond: 10,
    maxPeerResetsPerSecond: 100,
    unexplainedBytesBurst: 1 << 20,
    unexplainedBytesPerSecond: 1 << 20,
    onClose: (reason) => t.fail(`an idle close is no abuse: ${reason}`),
    maxIdleMs: 200,
  });
  const server = createServer();
  guard.attach(server);
  // Answers a stream only when its request ends: the client decides how long it stays open.
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    stream.resume();
    stream.on('end', () => stream.respond({ ':status': 200 }, { endStream: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    guard.stop();
    server.close();
  });
  const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.teardown(() => client.destroy());
  const goaway = new Promise<{ code: number; at: number }>((resolve) => client.once('goaway', (code) => resolve({ code, at: performance.now() })));
  let goawayBefore = false;
  void goaway.then(() => (goawayBefore = true));
  const request = client.request({ ':method': 'POST', ':path': '/slow' });
  request.resume();
  const answered = new Promise<void>((resolve) => request.once('response', () => resolve()));
  // Open for 3x the idle limit: not idle, however quiet.
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.notOk(goawayBefore, 'not closed while a stream was open');
  const idleFrom = performance.now();
  request.end();
  await answered;
  const { code, at } = await goaway;
  t.equal(code, constants.NGHTTP2_NO_ERROR, 'a graceful GOAWAY');
  t.ok(at - idleFrom >= 190, `closed once idle for the limit (${Math.round(at - idleFrom)} ms after the last stream)`);
  t.ok(at - idleFrom < 2000, 'and soon after it');
});
