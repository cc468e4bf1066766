import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { grpcRedirectRequest } from './frames.js';
import { REDIRECT_PATH } from './attacks.js';

const REQUEST = grpcRedirectRequest('http://s1.origin-cluster/video/123/xcg2djHckad.m3u8');
const HEADERS = {
  [constants.HTTP2_HEADER_METHOD]: 'POST',
  [constants.HTTP2_HEADER_PATH]: REDIRECT_PATH,
  [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
  te: 'trailers',
};

export interface VictimReport {
  readonly calls: number;
  readonly ok: number;
  readonly failed: number;
  /** Milliseconds from each call's scheduled start (open loop: a stall is charged to every call it delays). */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * A well-behaved caller on its own connection: `rate` Redirect calls a second, each due at a
 * fixed time and timed from then, so that a server stall shows in full.
 */
export class Victim {
  private readonly session: ClientHttp2Session;
  private readonly latencies: number[] = [];
  private failed = 0;
  private calls = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(port: number, host = '127.0.0.1') {
    this.session = connect(`http://${host}:${port}`);
    this.session.on('error', () => undefined);
  }

  /** One call now; resolves with its time in ms, or rejects with what went wrong. */
  call(): Promise<number> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const stream = this.session.request(HEADERS);
      let grpcStatus: string | undefined;
      stream.on('response', (h) => (grpcStatus ??= h['grpc-status'] as string | undefined));
      stream.on('trailers', (t) => (grpcStatus = t['grpc-status'] as string | undefined));
      stream.on('data', () => undefined);
      stream.on('error', reject);
      stream.on('close', () => (grpcStatus === '0' ? resolve(performance.now() - started) : reject(new Error(`grpc-status ${grpcStatus}`))));
      stream.end(REQUEST);
    });
  }

  start(rate: number): void {
    const intervalMs = 1000 / rate;
    const first = performance.now();
    let due = first;
    const tick = () => {
      const now = performance.now();
      while (due <= now) {
        const scheduled = due;
        this.calls++;
        const done: Promise<void> = this.call().then(
          () => void this.latencies.push(performance.now() - scheduled),
          () => void this.failed++,
        );
        this.inFlight.add(done);
        void done.finally(() => this.inFlight.delete(done));
        due += intervalMs;
      }
      this.timer = setTimeout(tick, Math.max(0, due - performance.now()));
    };
    tick();
  }

  async stop(): Promise<VictimReport> {
    clearTimeout(this.timer);
    await Promise.all(this.inFlight);
    this.session.close();
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
    return { calls: this.calls, ok: sorted.length, failed: this.failed, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN };
  }
}
