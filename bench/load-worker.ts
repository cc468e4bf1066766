/**
 * One load thread of bench/load.ts, run by piscina: clients, each on its own HTTP/2
 * connection, calling Redirect; latencies go into an HDR histogram returned compressed.
 */

const REDIRECT_PATH = '/loadBalancer.loadBalancer/Redirect';

/** Sends one call; `onDone` gets the status code name and the response message, if any. */
type Caller = (onDone: (code: string, response: Buffer | undefined) => void) => void;

interface Connection {
  readonly call: Caller;
  close(): void;
}

async function grpcJsConnection(task: LoadTask, request: Buffer): Promise<Connection> {
  const client = new Client(task.target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())));
  return {
    call: (onDone) =>
      client.makeUnaryRequest(
        REDIRECT_PATH,
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        request,
        new Metadata(),
        { deadline: Date.now() + task.deadlineMs },
        (error, response) => onDone(error ? (status[error.code] ?? String(error.code)) : 'OK', response),
      ),
    close: () => client.close(),
  };
}

/** gRPC over node:http2 by hand: headers, one framed message, trailers. */
async function http2Connection(task: LoadTask, request: Buffer): Promise<Connection> {
  const session: ClientHttp2Session = connect(`http://${task.target}`);
  session.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  const frame = Buffer.alloc(5 + request.length);
  frame.writeUInt32BE(request.length, 1);
  request.copy(frame, 5);
  const headers = {
    [constants.HTTP2_HEADER_METHOD]: 'POST',
    [constants.HTTP2_HEADER_PATH]: REDIRECT_PATH,
    [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
    [constants.HTTP2_HEADER_TE]: 'trailers',
    'grpc-timeout': `${task.deadlineMs}m`,
  };
  return {
    call: (onDone) => {
      if (session.destroyed || session.closed) {
        onDone('UNAVAILABLE', undefined);
        return;
      }
      const stream = session.request(headers);
      let body: Buffer | undefined;
      let code = 'UNAVAILABLE';
      stream.on('data', (chunk: Buffer) => (body = body ? Buffer.concat([body, chunk]) : chunk));
      stream.on('trailers', (trailers) => (code = status[Number(trailers['grpc-status'])] ?? 'UNKNOWN'));
      stream.on('response', (responseHeaders) => {
        if (responseHeaders['grpc-status'] !== undefined) code = status[Number(responseHeaders['grpc-status'])] ?? 'UNKNOWN';
      });
      stream.on('error', () => undefined);
      stream.on('close', () => onDone(code, body && body.length >= 5 ? body.subarray(5) : undefined));
      stream.end(frame);
    },
    close: () => session.close(),
  };
}
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import * as hdr from 'hdr-histogram-js';
import { decodeResponseRedirect, encodeRequest } from '../src/grpc/redirect-codec.js';

export interface LoadTask {
  readonly target: string;
  readonly video: string;
  readonly connections: number;
  /** Closed loop: calls kept in flight. Ignored in open loop. */
  readonly concurrency: number;
  /** Open loop: calls per second from this thread, at fixed intended times; 0 = closed loop. */
  readonly rate: number;
  readonly durationMs: number;
  /** Wall-clock start of the measured phase, shared by all threads (ms since epoch). */
  readonly startAt: number;
  /** Unrecorded closed-loop calls before `startAt`, so that JIT warm-up does not count. */
  readonly warmupMs: number;
  /** Per thread: calls completed and calls failed so far, read by the main thread for progress. */
  readonly progress: Int32Array;
  readonly index: number;
  readonly deadlineMs: number;
  /** grpc-js, or a lean gRPC client on node:http2 that costs the load generator far less CPU. */
  readonly client: 'grpc-js' | 'http2';
}

export interface LoadResult {
  readonly histogram: string;
  readonly statuses: Record<string, number>;
  readonly origin: number;
  readonly cdn: number;
  readonly count: number;
  /** Open loop: calls not sent because too many were in flight. */
  readonly skipped: number;
}

/**
 * Above this many calls in flight per connection an open-loop thread stops adding more and
 * counts the calls it did not send: the server's MAX_CONCURRENT_STREAMS defaults to 1000.
 */
const MAX_OUTSTANDING_PER_CONNECTION = 1000;

export default async function runLoad(task: LoadTask): Promise<LoadResult> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  const request = encodeRequest(task.video);
  const statuses: Record<string, number> = {};
  let origin = 0;
  let cdn = 0;
  let count = 0;
  let skipped = 0;
  let outstanding = 0;
  const open = task.client === 'http2' ? http2Connection : grpcJsConnection;
  const clients = await Promise.all(Array.from({ length: task.connections }, () => open(task, request)));

  let recording = false;
  const call = (client: Connection, intendedAt: number, done: () => void): void => {
    outstanding++;
    client.call((code, response) => {
      outstanding--;
      if (!recording) return done();
      // Latency from the intended send time, so a stalled server cannot hide its stalls.
      histogram.recordValue(Math.max(1, Math.round((performance.now() - intendedAt) * 1000)));
      statuses[code] = (statuses[code] ?? 0) + 1;
      if (code !== 'OK') Atomics.add(task.progress, 2 * task.index + 1, 1);
      if (code === 'OK' && response) {
        if (decodeResponseRedirect(response) === task.video) origin++;
        else cdn++;
      }
      count++;
      Atomics.store(task.progress, 2 * task.index, count);
      done();
    });
  };

  const startPerf = performance.now() + (task.startAt - Date.now());
  const warmupEnd = startPerf - 100;
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve) => {
          const next = (): void => (performance.now() >= warmupEnd ? resolve() : call(client, performance.now(), next));
          next();
        }),
    ),
  );
  while (outstanding > 0) await new Promise((resolve) => setTimeout(resolve, 1));
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, task.startAt - Date.now())));
  recording = true;
  const endPerf = startPerf + task.durationMs;

  if (task.rate > 0) {
    const intervalMs = 1000 / task.rate;
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        while (startPerf + sent * intervalMs <= Math.min(now, endPerf)) {
          const intendedAt = startPerf + sent * intervalMs;
          sent++;
          if (outstanding >= MAX_OUTSTANDING_PER_CONNECTION * clients.length) {
            skipped++;
            continue;
          }
          call(clients[sent % clients.length] as Connection, intendedAt, () => undefined);
        }
        if (now >= endPerf) resolve();
        else setImmediate(tick);
      };
      tick();
    });
  } else {
    const loops = Math.max(1, task.concurrency);
    await Promise.all(
      Array.from({ length: loops }, (_, i) => {
        const client = clients[i % clients.length] as Connection;
        return new Promise<void>((resolve) => {
          const next = (): void => {
            if (performance.now() >= endPerf) return resolve();
            call(client, performance.now(), next);
          };
          next();
        });
      }),
    );
  }
  while (outstanding > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  for (const client of clients) client.close();
  return { histogram: hdr.encodeIntoCompressedBase64(histogram), statuses, origin, cdn, count, skipped };
}
