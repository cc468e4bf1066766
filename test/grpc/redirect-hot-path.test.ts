import { EventEmitter } from 'node:events';
import { connect, createServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { status } from '@grpc/grpc-js';
import t from 'tap';
import { CallStats } from '../../src/grpc/call-stats.js';
import { createRedirectHotPath } from '../../src/grpc/redirect-hot-path.js';
import type { RedirectResolver } from '../../src/grpc/redirect-service.js';

/** Just enough of a ServerHttp2Stream to watch what the hot path does with it. */
class FakeStream extends EventEmitter {
  headersSent = false;
  closed = false;
  destroyed = false;
  responses: Array<Record<string, unknown>> = [];
  ended: Buffer | undefined;
  respond(headers: Record<string, unknown>): void {
    this.headersSent = true;
    this.responses.push(headers);
  }
  end(data: Buffer): void {
    this.ended = data;
  }
  sendTrailers(): void {}
}

const resolve: RedirectResolver = (request) => ({ code: status.OK, text: `answer to ${request.length} bytes` });
const activeTimeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

t.test('a cancelled call with a grpc-timeout leaves no timer behind and sends nothing', async (t) => {
  const answer = createRedirectHotPath({ resolve, stats: undefined, maxMessageBytes: 100, methodPath: '/m' });
  const before = activeTimeouts();
  const stream = new FakeStream();
  answer(stream as unknown as ServerHttp2Stream, { 'content-type': 'application/grpc', 'grpc-timeout': '60S' } as IncomingHttpHeaders);
  t.equal(activeTimeouts(), before + 1, 'the deadline timer runs while the call is open');
  stream.closed = true;
  stream.emit('close');
  t.equal(activeTimeouts(), before, 'the client\'s RST_STREAM cleared it');
  t.same(stream.responses, [], 'nothing was sent');
});

t.test('an answered call clears its deadline timer and counts once', async (t) => {
  const stats = new CallStats();
  let resolved = 0;
  const answer = createRedirectHotPath({
    resolve: (request) => {
      resolved++;
      return resolve(request);
    },
    stats,
    maxMessageBytes: 100,
    methodPath: '/m',
  });
  const before = activeTimeouts();
  const stream = new FakeStream();
  answer(stream as unknown as ServerHttp2Stream, { 'content-type': 'application/grpc', 'grpc-timeout': '60S' } as IncomingHttpHeaders);
  stream.emit('data', Buffer.from([0, 0, 0, 0, 3, 1, 2, 3]));
  stream.emit('end');
  t.equal(activeTimeouts(), before, 'no timer left');
  t.equal(resolved, 1, 'resolved once');
  t.equal(stream.responses[0]?.[':status'], 200);
  t.equal(stream.ended?.subarray(5).toString('latin1').slice(2), 'answer to 3 bytes', 'the framed answer was written');
  t.equal(stats.started, 1, 'counted as started when its stream arrived');
  t.equal(stats.handled[status.OK], 0, 'not counted as handled before its stream closes');
  stream.emit('close');
  t.equal(stats.handled[status.OK], 1, 'counted once, OK, at the close');
  t.equal(stats.handlingBuckets.reduce((a, b) => a + b, 0), 1, 'and timed once');
});

t.test('calls are timed from their stream\'s arrival to its close, whatever ends them', async (t) => {
  const stats = new CallStats();
  const answer = createRedirectHotPath({ resolve, stats, maxMessageBytes: 2, methodPath: '/m' });
  const slow = new FakeStream();
  answer(slow as unknown as ServerHttp2Stream, { 'content-type': 'application/grpc' } as IncomingHttpHeaders);
  // The request arrives 30 ms after its headers (a stalled loop, a slow client): the call took 30 ms.
  await new Promise((resolve) => setTimeout(resolve, 30));
  slow.emit('data', Buffer.from([0, 0, 0, 0, 1, 7]));
  slow.emit('end');
  slow.emit('close');
  t.ok(stats.handlingSecondsSum >= 0.025, `timed from the headers: ${(stats.handlingSecondsSum * 1000).toFixed(1)} ms`);
  t.equal(stats.handlingBuckets[0], 0, 'not in the 5 ms bucket');
  const refused = new FakeStream();
  answer(refused as unknown as ServerHttp2Stream, { 'content-type': 'application/grpc' } as IncomingHttpHeaders);
  refused.emit('data', Buffer.from([0, 0, 0, 0, 3]));
  refused.emit('close');
  t.equal(stats.handled[status.RESOURCE_EXHAUSTED], 1, 'a request over the limit is counted with its status');
  const cancelled = new FakeStream();
  answer(cancelled as unknown as ServerHttp2Stream, { 'content-type': 'application/grpc' } as IncomingHttpHeaders);
  cancelled.closed = true;
  cancelled.emit('close');
  t.equal(stats.handled[status.CANCELLED], 1, 'a call closed before its answer is CANCELLED');
  t.equal(stats.started, 3);
});

t.test('a protocol error ends the call before the resolver (which counts calls) is reached', async (t) => {
  let resolved = 0;
  const answer = createRedirectHotPath({ resolve: () => ((resolved++), { code: status.OK, text: '' }), stats: undefined, maxMessageBytes: 2, methodPath: '/m' });
  const stream = new FakeStream();
  answer(stream as unknown as ServerHttp2Stream, { 'content-type': 'application/grpc' } as IncomingHttpHeaders);
  stream.emit('data', Buffer.from([0, 0, 0, 0, 3]));
  stream.emit('data', Buffer.from([1, 2, 3]));
  stream.emit('end');
  t.equal(resolved, 0);
  t.equal(stream.responses.length, 1, 'one answer only');
  t.equal(stream.responses[0]?.['grpc-status'], status.RESOURCE_EXHAUSTED);
});

t.test('a finished call leaves its node:http2 stream without listeners, node:http2\'s own included', async (t) => {
  const answer = createRedirectHotPath({ resolve, stats: new CallStats(), maxMessageBytes: 100, methodPath: '/m' });
  const server = createServer();
  const closed = new Promise<ServerHttp2Stream>((resolveStream) => {
    server.on('stream', (stream, headers) => {
      t.ok(stream.listenerCount('removeListener') > 0, "node:http2 listens for 'removeListener' on its streams");
      answer(stream, headers);
      stream.once('close', () => setImmediate(() => resolveStream(stream)));
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.teardown(() => {
    client.close();
    server.close();
  });
  const request = client.request({ ':method': 'POST', ':path': '/m', 'content-type': 'application/grpc', te: 'trailers' });
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  const trailers = new Promise<Record<string, unknown>>((got) => request.once('trailers', got));
  request.end(Buffer.from([0, 0, 0, 0, 3, 1, 2, 3]));
  t.equal((await trailers)['grpc-status'], '0', 'answered');
  t.match(Buffer.concat(chunks).toString(), /answer to 3 bytes/);
  const stream = await closed;
  t.same(stream.eventNames(), [], 'no listener left on the closed stream');
});
