import { status } from '@grpc/grpc-js';
import t from 'tap';
import { HealthClient } from '../helpers/health-client.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { startService } from '../helpers/service-process.js';

const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const CDN_ANSWER = 'http://cdn.test/s1/video/123/xcg2djHckad.m3u8';
const WORKERS = 2;

const service = await startService({ WORKERS: String(WORKERS), CDN_HOST: 'cdn.test', LOG_LEVEL: 'debug' });
t.teardown(() => service.stop());

t.test('100 sequential calls on one connection: exactly calls 10, 20, ... go to the origin', async (t) => {
  const client = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => client.close());
  const originCalls: number[] = [];
  for (let call = 1; call <= 100; call++) {
    const result = await client.redirect(VIDEO);
    t.equal(result.code, status.OK);
    if (result.redirect === VIDEO) originCalls.push(call);
    else if (result.redirect !== CDN_ANSWER) t.fail(`call ${call}: unexpected answer ${result.redirect}`);
  }
  t.same(originCalls, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
});

t.test('separate connections land on several workers; origin answers stay within W of N/10', async (t) => {
  // The kernel hashes each connection to a worker's SO_REUSEPORT socket: with 24 connections the
  // chance that all land on one of 2 workers is 2 in 16 million.
  const clients = Array.from({ length: 24 }, () => new RedirectClient(service.port, { ownConnection: true }));
  t.teardown(() => clients.forEach((c) => c.close()));
  const callsPerClient = 20;
  const logsBefore = service.logs.length;
  const results = await Promise.all(
    clients.map(async (client) => {
      const answers: string[] = [];
      for (let i = 0; i < callsPerClient; i++) answers.push((await client.redirect(VIDEO)).redirect ?? 'failed');
      return answers;
    }),
  );
  const all = results.flat();
  t.notOk(all.includes('failed'), 'every call succeeded');
  const origin = all.filter((a) => a === VIDEO).length;
  t.equal(origin + all.filter((a) => a === CDN_ANSWER).length, all.length, 'every answer is origin or CDN');
  t.ok(Math.abs(origin - all.length / 10) <= WORKERS, `${origin} origin answers of ${all.length}`);
  await service.waitForLogCount((l) => l.msg === 'redirect', logsBefore + all.length - 200, 5000).catch(() => undefined);
  const servingWorkers = new Set(service.logs.slice(logsBefore).filter((l) => l.msg === 'redirect').map((l) => l['worker']));
  t.equal(servingWorkers.size, WORKERS, `calls were served by workers ${[...servingWorkers].join(', ')}`);
});

t.test('invalid input gets INVALID_ARGUMENT with a reason, and the server keeps serving', async (t) => {
  const client = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => client.close());
  const rows: Array<[string, string]> = [
    ['', 'video: is empty'],
    ['ftp://s1.origin-cluster/x', 'video: scheme must be http or https'],
    ['http://evil.example/x', 'video: host "evil.example" is not an allowed origin'],
    ['http://u@s1.origin-cluster/x', 'video: user-info'],
  ];
  for (const [video, details] of rows) {
    const result = await client.redirect(video);
    t.equal(result.code, status.INVALID_ARGUMENT, `${JSON.stringify(video)} is INVALID_ARGUMENT`);
    t.match(result.details, details);
  }
  t.equal((await client.redirect(VIDEO)).code, status.OK, 'still serving');
});

t.test('a message over 64 KiB is RESOURCE_EXHAUSTED', async (t) => {
  const client = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => client.close());
  const result = await client.redirect(`http://s1.origin-cluster/${'a'.repeat(70 * 1024)}`);
  t.equal(result.code, status.RESOURCE_EXHAUSTED);
  t.equal((await client.redirect(VIDEO)).code, status.OK, 'still serving');
});

t.test('the health service says SERVING', async (t) => {
  const health = new HealthClient(service.port);
  t.teardown(() => health.close());
  for (const name of ['', 'loadBalancer.loadBalancer']) {
    t.equal(await health.check(name), 'SERVING', `service ${JSON.stringify(name)}`);
  }
});

t.test('every stdout line is a whole JSON line, and per-call lines only appear at debug', async (t) => {
  t.same(service.badLines, [], 'no torn or interleaved lines');
  t.ok(service.logs.some((l) => l.msg === 'redirect' && l['level'] === 20), 'per-call lines are at debug (20)');
  t.notOk(service.logs.some((l) => l.msg === 'redirect' && (l['level'] as number) > 20), 'never above debug');
});
