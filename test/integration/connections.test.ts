import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import t from 'tap';
import { encodeRequest } from '../../src/grpc/redirect-codec.js';
import { startService } from '../helpers/service-process.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

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
 * V8 sizes its heap over the first rounds: on Node 24 RSS grows from ~115 MB to a plateau that
 * differs from run to run (137-162 MB seen here, reached by round 6 to 8 on a busy machine). A
 * leak keeps growing: what the connections and calls of a round hold is several MB. So the check
 * is that the last rounds add almost nothing.
 */
const ROUNDS = 12;
const PLATEAU_FROM_ROUND = 9;
const MAX_GROWTH_ON_PLATEAU_KIB = 6 * 1024;

t.test('idle connections and half-open calls are closed by the server, and memory comes back', async (t) => {
  const service = await startService({
    WORKERS: '1',
    MAX_CONNECTION_IDLE_MS: '500',
    MAX_CONNECTION_AGE_MS: '1500',
    MAX_CONNECTION_AGE_GRACE_MS: '500',
    // Without coverage hooks: V8's coverage bookkeeping holds memory of its own, growing with the work done.
  }, { instrumented: false });
  t.teardown(() => service.stop());
  const [pid] = service.liveWorkerPids() as [number];
  const baseline = rssKiB(pid);
  const rounds: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const idle = await Promise.all(Array.from({ length: 150 }, () => openSession(service.port)));
    const busy = await Promise.all(Array.from({ length: 10 }, () => openSession(service.port)));
    for (const session of busy) for (let i = 0; i < 30; i++) halfOpenStream(session);
    await sleep(300);
    const peak = rssKiB(pid);
    const deadline = Date.now() + 5000;
    while (closedCount([...idle, ...busy]) < idle.length + busy.length && Date.now() < deadline) await sleep(50);
    t.equal(closedCount(idle), idle.length, `round ${round}: all ${idle.length} idle connections were closed by the server`);
    t.equal(closedCount(busy), busy.length, `round ${round}: connections holding 300 half-open calls were closed too`);
    for (const session of [...idle, ...busy]) session.destroy();
    await sleep(200);
    rounds.push(rssKiB(pid));
    t.comment(`round ${round}: RSS baseline ${baseline} KiB, with connections ${peak} KiB, after ${rounds.at(-1)} KiB`);
  }
  const plateau = rounds[PLATEAU_FROM_ROUND - 1] as number;
  const last = rounds[ROUNDS - 1] as number;
  t.ok(
    last - plateau < MAX_GROWTH_ON_PLATEAU_KIB,
    `no growth once V8 has sized its heap: ${plateau} KiB after round ${PLATEAU_FROM_ROUND} -> ${last} KiB after round ${ROUNDS}`,
  );
  t.ok(service.liveWorkerPids().includes(pid), 'the same worker served throughout');
});
