import { createServer } from 'node:net';
import { status } from '@grpc/grpc-js';
import t from 'tap';
import { MIGRATE_REQ_SKIP } from '../helpers/tcp-migrate-req.js';
import { tcpMigrateReqEnabled } from '../../src/runtime/tcp-migrate.js';
import { establishedConnectionsHeldBy } from '../../bench/process-sockets.js';
import { HealthClient } from '../helpers/health-client.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { spawnService, startService } from '../helpers/service-process.js';
import { SteadyLoad } from '../helpers/steady-load.js';

const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('SIGTERM with calls in flight: accepted calls complete and the service exits 0', async (t) => {
  const service = await startService({ WORKERS: '2', SHUTDOWN_TIMEOUT_MS: '3000' });
  const clients = Array.from({ length: 4 }, () => new RedirectClient(service.port, { ownConnection: true }));
  t.teardown(() => clients.forEach((c) => c.close()));
  await Promise.all(clients.map((c) => c.redirect(VIDEO)));
  const inFlight = clients.flatMap((client) => Array.from({ length: 250 }, () => client.redirect(VIDEO)));
  setImmediate(() => service.child.kill('SIGTERM'));
  const started = Date.now();
  const results = await Promise.all(inFlight);
  const { code } = await service.exit();
  t.equal(code, 0, 'exit code 0');
  t.ok(Date.now() - started < 3000 + 2000, 'within SHUTDOWN_TIMEOUT_MS plus a margin');
  const codes = new Map<string, number>();
  for (const r of results) codes.set(status[r.code] as string, (codes.get(status[r.code] as string) ?? 0) + 1);
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(codes))}`);
  t.ok((codes.get('OK') ?? 0) > 0, 'calls were accepted before the drain');
  t.same([...codes.keys()].filter((c) => c !== 'OK' && c !== 'UNAVAILABLE'), [], 'no call was cut off mid-way');
  t.ok(service.logs.some((l) => l.msg === 'worker drained'), 'workers drained');
  t.ok(service.logs.some((l) => l.msg === 'supervisor exiting' && l['exitCode'] === 0));
});

t.test('draining: health turns NOT_SERVING, new connections are refused, the drain is bounded', async (t) => {
  const service = await startService({ WORKERS: '1', SHUTDOWN_TIMEOUT_MS: '1500' });
  const watcher = new HealthClient(service.port);
  t.teardown(() => watcher.close());
  // A health Watch stream is a call that never ends by itself: it keeps the worker draining.
  const statuses: string[] = [];
  const watch = watcher.stub.Watch({ service: '' });
  watch.on('data', (update) => statuses.push(update.status));
  watch.on('error', () => undefined);
  while (!statuses.includes('SERVING')) await sleep(10);
  const signalledAt = Date.now();
  service.child.kill('SIGTERM');
  await service.waitForLog((l) => l.msg === 'worker draining');
  while (!statuses.includes('NOT_SERVING') && Date.now() - signalledAt < 1000) await sleep(10);
  t.same(statuses, ['SERVING', 'NOT_SERVING'], 'the watcher was told NOT_SERVING');
  const late = new RedirectClient(service.port, { ownConnection: true });
  const lateResult = await late.redirect(VIDEO, 1000);
  late.close();
  t.equal(status[lateResult.code], 'UNAVAILABLE', `a new connection is refused: ${lateResult.details}`);
  const { code } = await service.exit();
  const tookMs = Date.now() - signalledAt;
  t.equal(code, 0, 'exit code 0');
  t.ok(tookMs >= 1400 && tookMs < 1500 + 2000, `exited ${tookMs} ms after SIGTERM: after the drain timeout, within a margin`);
  t.ok(service.logs.some((l) => l.msg === 'worker drain timed out; calls in flight were cut off'), 'the cut-off is logged');
});

t.test('kill -9 of a worker: it is replaced, and only calls in flight on it fail, fast', async (t) => {
  const service = await startService({ WORKERS: '2' }, { instrumented: false });
  t.teardown(() => service.stop());
  const connections = 6;
  const load = new SteadyLoad(service.port, VIDEO, { connections, deadlineMs: 5000 });
  await sleep(300);
  // The kernel spreads connections over the workers' SO_REUSEPORT sockets by hash, so how many
  // each holds is counted rather than assumed; the victim is one that holds some.
  const held = new Map(service.liveWorkerPids().map((pid) => [pid, establishedConnectionsHeldBy(pid, service.port)]));
  const [victim, victimConnections] = [...held].sort((a, b) => b[1] - a[1])[0] as [number, number];
  process.kill(victim, 'SIGKILL');
  const died = await service.waitForLog((l) => l.msg === 'worker died; replacing it');
  const [, , replacement] = await service.waitForLogCount((l) => l.msg === 'worker listening', 3, 5000);
  // Measured by the service's own clock: the test process shares two cores with the load.
  const replacedAfterMs = Date.parse(String(replacement?.['time'])) - Date.parse(String(died['time']));
  t.equal(died['signal'], 'SIGKILL', 'the supervisor saw the kill');
  t.equal(died['restartInMs'], 0, 'a first death is replaced at once, with no back-off');
  // A process start on a busy 2-core machine took up to 2.4 s here; what is promised is a
  // replacement at once, which the line above checks; this bound only catches a hang.
  t.ok(replacedAfterMs < 10_000, `the replacement listened ${replacedAfterMs} ms after the death`);
  const okBefore = load.succeeded;
  await sleep(500);
  await load.stop();
  t.ok(load.succeeded > okBefore, 'calls keep succeeding after the kill');
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(load.outcomes))}; failures: ${load.describeFailures()}`);
  // Each connection has one call in flight at a time, so a connection on the killed worker loses
  // at most that one call; connections on the other worker lose none.
  const perConnection = new Map<number, number>();
  for (const f of load.failures) perConnection.set(f.connection, (perConnection.get(f.connection) ?? 0) + 1);
  // Without tcp_migrate_req, a reconnection still queued at the dead worker's socket is reset, and
  // that client's calls fail fast until its back-off ends: more than one, all UNAVAILABLE (below).
  t.test('no connection lost more than its call in flight', { skip: tcpMigrateReqEnabled() ? false : MIGRATE_REQ_SKIP }, async (t) => {
    t.ok([...perConnection.values()].every((n) => n === 1), `losses per connection: ${JSON.stringify([...perConnection.values()])}`);
  });
  t.ok(
    perConnection.size <= victimConnections,
    `only connections of the dead worker lost a call: ${perConnection.size} of its ${victimConnections} (${connections - victimConnections} on the other)`,
  );
  t.ok(load.failures.every((f) => f.code === 'UNAVAILABLE'), 'failed calls are UNAVAILABLE, which clients retry');
  t.ok(load.failures.every((f) => f.ms < 2000), 'no call hung on the dead worker until its deadline');
  const fresh = new RedirectClient(service.port, { ownConnection: true });
  t.equal((await fresh.redirect(VIDEO)).code, status.OK, 'a new connection is served');
  fresh.close();
  t.equal(service.liveWorkerPids().length, 2, 'two workers again');
});

t.test('SIGUSR2 under steady calls: a rolling restart with zero failed calls', async (t) => {
  const service = await startService({ WORKERS: '2' });
  t.teardown(() => service.stop());
  const before = service.liveWorkerPids();
  const load = new SteadyLoad(service.port, VIDEO, { connections: 4 });
  await sleep(300);
  service.child.kill('SIGUSR2');
  await service.waitForLog((l) => l.msg === 'rolling restart finished', 20_000);
  await sleep(300);
  await load.stop();
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(load.outcomes))}`);
  t.same(load.failures, [], 'no call failed');
  t.ok(load.succeeded > 100, `${load.succeeded} calls succeeded`);
  const after = service.liveWorkerPids();
  t.equal(after.length, 2, 'still two workers');
  t.same(after.filter((pid) => before.includes(pid)), [], 'every worker was replaced');
});

t.test('the gRPC port is taken: one clear line and exit 1, no worker started', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const service = spawnService({ WORKERS: '2', GRPC_PORT: String(port) });
  const { code } = await service.exit(15_000);
  t.equal(code, 1, 'exit code 1');
  const fatal = service.logs.filter((l) => l.level === 60).map((l) => String(l.msg));
  t.match(fatal, [new RegExp(`^cannot start: cannot listen on 127\\.0\\.0\\.1:${port} \\(GRPC_PORT\\): .*EADDRINUSE`)], 'the primary says why');
  t.notOk(service.logs.some((l) => l.msg === 'worker listening'), 'no second copy of the service shares the port');
});

t.test('a worker that cannot listen: a clear line and a non-zero exit, not a restart loop', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  // The HTTP front door's port is taken: only the workers find out, when they listen.
  const service = spawnService({ WORKERS: '2', HTTP_PORT: String(port) });
  const { code } = await service.exit(15_000);
  t.not(code, 0, `exit code ${code}`);
  t.ok(service.logs.some((l) => l.level === 60 && /cannot listen on HTTP_PORT 127\.0\.0\.1:\d+/.test(String(l.msg))), 'the worker says why');
  t.ok(service.logs.some((l) => /workers keep dying at start-up/.test(String(l.msg))), 'the supervisor gives up');
  const starts = service.logs.filter((l) => /cannot listen/.test(String(l.msg))).length;
  t.ok(starts <= 4, `${starts} attempts, not an endless loop`);
});

t.test('bad configuration: one line naming the variable, exit 1', async (t) => {
  const service = spawnService({ ORIGIN_EVERY: 'often' });
  const { code } = await service.exit();
  t.equal(code, 1);
  t.equal(
    service.stderr,
    'video-balancer: invalid configuration: ORIGIN_EVERY="often" is invalid: expected a whole number from 0 to 1000000000 (0 = never, 1 = every call)\n',
  );
  t.same(service.logs, [], 'nothing started');
});
