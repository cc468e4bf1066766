import { connect, type ClientHttp2Session } from 'node:http2';
import t from 'tap';
import { encodeRequest } from '../../src/grpc/redirect-codec.js';
import { loadConfig } from '../../src/config/config.js';
import { InspectorClient } from '../helpers/inspector.js';
import { startService } from '../helpers/service-process.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const kib = (bytes: number) => Math.round(bytes / 1024);

function openSession(port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/** A call whose headers and half its message are sent, and then nothing more. */
function halfOpenStream(session: ClientHttp2Session): void {
  const stream = session.request({
    ':method': 'POST',
    ':path': '/loadBalancer.loadBalancer/Redirect',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  const message = encodeRequest('http://s1.origin-cluster/video/1.ts');
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
  stream.write(frame.subarray(0, 10));
  stream.on('error', () => undefined);
}

const closedCount = (sessions: ClientHttp2Session[]) => sessions.filter((s) => s.closed || s.destroyed).length;

/**
 * Leaks are measured in the worker's heap after full garbage collections (forced through the
 * inspector), not in RSS, whose noise (V8 sizing its heap, 137-162 MB plateaus) hid a leak of
 * most of what a round holds. A round's connections and calls hold `held` bytes of heap while
 * open; once they are closed, the heap after round ROUNDS may exceed the heap after round
 * WARM_ROUNDS by at most a tenth of `held`, however many rounds lie between: a leak of a tenth
 * of each round's state adds that much every round.
 */
const ROUNDS = 8;
const WARM_ROUNDS = 3;
t.test('idle connections and half-open calls are closed by the server, and memory comes back', async (t) => {
  const service = await startService({
    WORKERS: '1',
    MAX_CONNECTION_IDLE_MS: '500',
    MAX_CONNECTION_AGE_MS: '1500',
    MAX_CONNECTION_AGE_GRACE_MS: '500',
    // The inspector forces full GCs and reads the heap; the service's own V8 flags, unchanged.
    WORKER_NODE_FLAGS: `${loadConfig({}).workerNodeFlags.join(' ')} --inspect=127.0.0.1:0`,
    // Without coverage hooks: V8's coverage bookkeeping holds memory of its own, growing with the work done.
  }, { instrumented: false });
  t.teardown(() => service.stop());
  const [pid] = service.liveWorkerPids() as [number];
  const inspector = await InspectorClient.connect(service.stderr);
  t.teardown(() => inspector.close());
  const baseline = await inspector.heapUsedAfterGc();
  const rounds: number[] = [];
  let held = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const idle = await Promise.all(Array.from({ length: 150 }, () => openSession(service.port)));
    const busy = await Promise.all(Array.from({ length: 10 }, () => openSession(service.port)));
    for (const session of busy) for (let i = 0; i < 30; i++) halfOpenStream(session);
    await sleep(300);
    const peak = await inspector.heapUsedAfterGc();
    const deadline = Date.now() + 5000;
    while (closedCount([...idle, ...busy]) < idle.length + busy.length && Date.now() < deadline) await sleep(50);
    t.equal(closedCount(idle), idle.length, `round ${round}: all ${idle.length} idle connections were closed by the server`);
    t.equal(closedCount(busy), busy.length, `round ${round}: connections holding 300 half-open calls were closed too`);
    for (const session of [...idle, ...busy]) session.destroy();
    await sleep(200);
    rounds.push(await inspector.heapUsedAfterGc());
    held = Math.max(held, peak - (rounds.at(-1) as number));
    t.comment(`round ${round}: heap after GC ${kib(baseline)} KiB at start, ${kib(peak)} KiB with the connections open, ${kib(rounds.at(-1) as number)} KiB after`);
  }
  const warm = rounds[WARM_ROUNDS - 1] as number;
  const last = rounds[ROUNDS - 1] as number;
  t.ok(held > 1024 * 1024, `a round's connections and calls hold ${kib(held)} KiB of heap while open`);
  t.ok(
    last - warm < held / 10,
    `no growth: ${kib(warm)} KiB after round ${WARM_ROUNDS} -> ${kib(last)} KiB after round ${ROUNDS} (+${kib(last - warm)} KiB; a tenth of a round's state is ${kib(held / 10)} KiB)`,
  );
  t.ok(service.liveWorkerPids().includes(pid), 'the same worker served throughout');
});
