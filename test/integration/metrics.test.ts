import { once } from 'node:events';
import { connect } from 'node:http2';
import t from 'tap';
import { establishedConnectionsHeldBy } from '../../bench/process-sockets.js';
import { encodeRequest } from '../../src/grpc/redirect-codec.js';
import { findFreePort } from '../../src/cluster/free-port.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { startService } from '../helpers/service-process.js';

const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const WORKERS = 2;

/** Parses Prometheus text into `name{labels}` -> value. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const metricsPort = await findFreePort('127.0.0.1');
const service = await startService({ WORKERS: String(WORKERS), METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' });
t.teardown(() => service.stop());
const scrape = async () => {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
};

t.test('after N calls across workers, the aggregated counters equal N, split origin/CDN', async (t) => {
  const clients = Array.from({ length: 6 }, () => new RedirectClient(service.port, { ownConnection: true }));
  t.teardown(() => clients.forEach((c) => c.close()));
  const validPerClient = 40;
  const invalidPerClient = 3;
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < validPerClient; i++) await client.redirect(VIDEO);
      for (let i = 0; i < invalidPerClient; i++) await client.redirect('ftp://nope/x');
    }),
  );
  const valid = clients.length * validPerClient;
  const invalid = clients.length * invalidPerClient;
  const { status, type, text } = await scrape();
  t.equal(status, 200);
  t.match(type, /^text\/plain/);
  const m = parseMetrics(text);
  const labels = 'grpc_type="unary",grpc_service="loadBalancer.loadBalancer",grpc_method="Redirect"';
  t.equal(m.get(`grpc_server_started_total{${labels}}`), valid + invalid, 'started');
  t.equal(m.get(`grpc_server_handled_total{${labels},grpc_code="OK"}`), valid, 'handled OK');
  t.equal(m.get(`grpc_server_handled_total{${labels},grpc_code="INVALID_ARGUMENT"}`), invalid, 'handled INVALID_ARGUMENT');
  t.equal(m.get(`grpc_server_handling_seconds_count{${labels}}`), valid + invalid, 'histogram count');
  t.equal(m.get(`grpc_server_handling_seconds_bucket{${labels},le="+Inf"}`), valid + invalid, 'histogram +Inf bucket');
  const origin = m.get('balancer_redirects_total{target="origin"}') ?? NaN;
  const cdn = m.get('balancer_redirects_total{target="cdn",cdn_host="cdn.example.com",pool="default"}') ?? NaN;
  t.equal(origin + cdn, valid, 'origin + CDN answers = valid calls');
  t.ok(Math.abs(origin - valid / 10) <= WORKERS, `${origin} origin answers, within ${WORKERS} of ${valid / 10}`);
  t.equal(m.get('balancer_workers'), WORKERS, 'workers listening');
  t.equal(m.get('balancer_worker_restarts_total'), 0, 'no restarts yet');
  // The 6 clients' connections, summed over the workers the kernel put them on.
  t.equal(m.get('balancer_connections_open'), clients.length, 'connections open, summed over workers');
  for (const reason of ['rejected_headers', 'excess_bytes', 'protocol_error']) {
    t.equal(m.get(`balancer_connections_closed_total{reason="${reason}",port="grpc"}`), 0, `no caller's connection closed for abuse (${reason})`);
  }
  for (const name of ['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes']) {
    t.ok([...m.keys()].some((k) => k === name || k.startsWith(`${name}{`)), `default metric ${name}`);
  }
});

t.test('a stall of one worker shows in its own event-loop series and in the handling time of the call it held', async (t) => {
  const session = connect(`http://127.0.0.1:${service.port}`);
  t.teardown(() => session.close());
  await once(session, 'connect');
  // Headers first, the message later: the call has arrived in the worker before it stalls.
  const stream = session.request({ ':method': 'POST', ':path': '/loadBalancer.loadBalancer/Redirect', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
  stream.on('data', () => undefined);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const holder = service.liveWorkerPids().find((pid) => establishedConnectionsHeldBy(pid, service.port, session.socket.localPort) > 0);
  t.ok(holder, `the worker holding the connection: ${holder}`);
  const before = parseMetrics((await scrape()).text);
  const labels = 'grpc_type="unary",grpc_service="loadBalancer.loadBalancer",grpc_method="Redirect"';
  const slowBefore = (before.get(`grpc_server_handling_seconds_count{${labels}}`) ?? 0) - (before.get(`grpc_server_handling_seconds_bucket{${labels},le="0.25"}`) ?? 0);
  process.kill(holder as number, 'SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, 400));
  process.kill(holder as number, 'SIGCONT');
  const message = encodeRequest(VIDEO);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
  const trailers = new Promise<Record<string, unknown>>((resolve) => stream.once('trailers', resolve));
  stream.end(frame);
  t.equal((await trailers)['grpc-status'], '0', 'the call is answered after the stall');
  await once(stream, 'close');
  const after = parseMetrics((await scrape()).text);
  const slowAfter = (after.get(`grpc_server_handling_seconds_count{${labels}}`) ?? 0) - (after.get(`grpc_server_handling_seconds_bucket{${labels},le="0.25"}`) ?? 0);
  t.equal(slowAfter - slowBefore, 1, 'grpc_server_handling_seconds counts one call slower than 250 ms: timed from its stream, not from its message');
  const delays = [...after].filter(([name]) => name.startsWith('balancer_worker_eventloop_delay_seconds{') && name.includes('stat="max"'));
  t.equal(delays.length, WORKERS, `one series per worker: ${delays.map(([name, value]) => `${name} ${value}`).join(', ')}`);
  const stalled = delays.filter(([, value]) => value >= 0.3);
  t.equal(stalled.length, 1, 'the stalled worker shows its stall, not averaged away');
});

t.test('/healthz answers 200 while workers serve; other paths 404, other methods 405', async (t) => {
  const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
  t.equal(health.status, 200);
  t.equal(await health.text(), 'ok\n');
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/nope`)).status, 404);
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' })).status, 405);
});

t.test('a replaced worker counts in balancer_worker_restarts_total', async (t) => {
  const [victim] = service.liveWorkerPids();
  process.kill(victim as number, 'SIGKILL');
  await service.waitForLogCount((l) => l.msg === 'worker listening', WORKERS + 1);
  const m = parseMetrics((await scrape()).text);
  t.equal(m.get('balancer_worker_restarts_total'), 1);
  t.equal(m.get('balancer_workers'), WORKERS);
});
