import { createServer } from 'node:net';
import { status } from '@grpc/grpc-js';
import t from 'tap';
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

t.test('kill -9 of a worker: it is replaced and calls keep succeeding', async (t) => {
  const service = await startService({ WORKERS: '2' }, { instrumented: false });
  t.teardown(() => service.stop());
  const load = new SteadyLoad(service.port, VIDEO, { connections: 4 });
  await sleep(300);
  const [victim] = service.liveWorkerPids();
  process.kill(victim as number, 'SIGKILL');
  const died = await service.waitForLog((l) => l.msg === 'worker died; replacing it');
  const [, , replacement] = await service.waitForLogCount((l) => l.msg === 'worker listening', 3, 5000);
  // Measured by the service's own clock: the test process shares two cores with the load.
  const replacedAfterMs = Date.parse(String(replacement?.['time'])) - Date.parse(String(died['time']));
  t.equal(died['signal'], 'SIGKILL', 'the supervisor saw the kill');
  t.ok(replacedAfterMs < 1000, `the replacement listened ${replacedAfterMs} ms after the death`);
  const okBefore = load.succeeded;
  await sleep(500);
  await load.stop();
  t.ok(load.succeeded > okBefore, 'calls keep succeeding after the kill');
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(load.outcomes))}`);
  t.ok(load.failures.length <= 8, `at most the calls in flight on the killed worker failed: ${load.failures.join('; ')}`);
  const fresh = new RedirectClient(service.port, { ownConnection: true });
  t.equal((await fresh.redirect(VIDEO)).code, status.OK, 'a new connection is served');
  fresh.close();
  t.equal(service.liveWorkerPids().length, 2, 'two workers again');
});

t.test('SIGHUP under steady calls: a rolling restart with zero failed calls', async (t) => {
  const service = await startService({ WORKERS: '2' });
  t.teardown(() => service.stop());
  const before = service.liveWorkerPids();
  const load = new SteadyLoad(service.port, VIDEO, { connections: 4 });
  await sleep(300);
  service.child.kill('SIGHUP');
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

t.test('a worker that cannot listen: a clear line and a non-zero exit, not a restart loop', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const service = spawnService({ WORKERS: '2', GRPC_PORT: String(port) });
  const { code } = await service.exit(15_000);
  t.not(code, 0, `exit code ${code}`);
  t.ok(service.logs.some((l) => l.level === 60 && /cannot listen on 127\.0\.0\.1:\d+/.test(String(l.msg))), 'the worker says why');
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
