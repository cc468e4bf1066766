import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { findFreePort } from '../../src/cluster/free-port.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { PROJECT_ROOT, startService } from '../helpers/service-process.js';
import { SteadyLoad } from '../helpers/steady-load.js';

const VIDEO = 'http://s1.origin-cluster/video/123/x.m3u8';
const cdn = (host: string) => `http://${host}/s1/video/123/x.m3u8`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A routing file: the CDN pool as host=weight pairs, and the origin rotation. */
function routingYaml(hosts: Record<string, number>, every = 10): string {
  const list = Object.entries(hosts).map(([host, weight]) => `    - host: ${host}\n      weight: ${weight}`);
  return `cdn:\n  policy: weighted\n  hosts:\n${list.join('\n')}\norigin:\n  every: ${every}\n  hosts: ['*.origin-cluster']\n`;
}

async function answers(client: RedirectClient, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const result = await client.redirect(VIDEO);
    out.push(result.redirect ?? `error ${result.code}`);
  }
  return out;
}

const tally = (list: string[]) => list.reduce<Record<string, number>>((acc, a) => ({ ...acc, [a]: (acc[a] ?? 0) + 1 }), {});

/** The service with a routing file of `hosts` in a folder of its own, and metrics on a free port. */
async function startWithRoutingFile(hosts: Record<string, number>, env: Record<string, string>) {
  const file = join(mkdtempSync(join(tmpdir(), 'routing-')), 'routing.yaml');
  writeFileSync(file, routingYaml(hosts));
  const metricsPort = await findFreePort('127.0.0.1');
  const service = await startService({ CONFIG_FILE: file, METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1', ...env });
  return { service, file, metricsPort };
}

/** Calls until an answer names `host`; how long that took. */
async function until(client: RedirectClient, host: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if ((await client.redirect(VIDEO)).redirect?.includes(`//${host}/`)) return Date.now() - started;
    await sleep(20);
  }
  throw new Error(`no answer named ${host} within ${timeoutMs} ms`);
}

t.test('SIGHUP reloads in place: no failed call, the same workers, the new split', async (t) => {
  const { service, file, metricsPort } = await startWithRoutingFile({ 'cdn-a.test': 1 }, { WORKERS: '2' });
  t.teardown(() => service.stop());
  const pidsBefore = service.liveWorkerPids().sort();
  const load = new SteadyLoad(service.port, VIDEO, { connections: 4 });
  await sleep(300);
  writeFileSync(file, routingYaml({ 'cdn-b.test': 3, 'cdn-c.test': 1 }));
  service.child.kill('SIGHUP');
  const reloaded = await service.waitForLog((l) => l.msg?.startsWith('routing reloaded') === true && l.trigger === 'SIGHUP');
  t.same(reloaded['hostsAdded'], ['http://cdn-b.test', 'http://cdn-c.test'], 'the log line says what changed');
  t.same(reloaded['hostsRemoved'], ['http://cdn-a.test']);
  await service.waitForLogCount((l) => l.msg === `serving routing ${reloaded['routingId']}`, 2);
  await sleep(300);
  await load.stop();
  t.same(load.failures, [], `no call failed across the reload (${load.succeeded} succeeded)`);
  t.ok(load.succeeded > 50);
  t.same(service.liveWorkerPids().sort(), pidsBefore, 'the same worker processes');
  t.notOk(service.logs.some((l) => l.msg === 'rolling restart started'), 'no restart');

  // Exact weighted split on one connection (one worker): 3:1 over whole windows of 4.
  const fresh = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => fresh.close());
  const split = tally((await answers(fresh, 40)).filter((a) => a !== VIDEO));
  const b = split[cdn('cdn-b.test')] ?? 0;
  const c = split[cdn('cdn-c.test')] ?? 0;
  // Smooth weighted round robin for 3:1 repeats every 4 picks, so any 36 picks are exactly 27:9.
  t.same({ b, c }, { b: 27, c: 9 }, 'exactly 3:1 over 36 CDN answers');

  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.match(metrics, /^balancer_config_last_reload_successful 1$/m);
  t.match(metrics, new RegExp(`^balancer_config_info\\{routing_id="${reloaded['routingId']}"\\} 1$`, 'm'));
});

t.test('the rotation counter carries over: a connection with 5 calls before a reload gets the origin at its 10th', async (t) => {
  // One worker and no other caller: the counter is the worker's, and this connection its only user.
  const { service, file } = await startWithRoutingFile({ 'cdn-a.test': 1 }, { WORKERS: '1' });
  t.teardown(() => service.stop());
  const held = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => held.close());
  t.same(await answers(held, 5), Array(5).fill(cdn('cdn-a.test')));
  writeFileSync(file, routingYaml({ 'cdn-b.test': 1 }));
  service.child.kill('SIGHUP');
  const reloaded = await service.waitForLog((l) => l.msg?.startsWith('routing reloaded') === true);
  await service.waitForLog((l) => l.msg === `serving routing ${reloaded['routingId']}`);
  t.same(await answers(held, 5), [...Array(4).fill(cdn('cdn-b.test')), VIDEO], 'the new pool, and the origin at the 10th call overall');
});

t.test('a bad file is refused with one line; the running routing keeps answering; the metric says 0', async (t) => {
  const { service, file, metricsPort } = await startWithRoutingFile({ 'cdn-a.test': 1 }, { WORKERS: '1' });
  t.teardown(() => service.stop());
  writeFileSync(file, routingYaml({ 'cdn-a.test': 1, 'cdn-b.test': 0 }));
  service.child.kill('SIGHUP');
  const refused = await service.waitForLog((l) => l.msg?.startsWith('routing reload refused') === true);
  t.match(refused.msg, /cdn\.hosts\[1\]\.weight: must be a whole number from 1 to 1000/, 'the line names the key and what is wrong');
  t.equal(refused.level, 50);
  const client = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => client.close());
  t.same(await answers(client, 3), Array(3).fill(cdn('cdn-a.test')), 'the old routing answers');
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.match(metrics, /^balancer_config_last_reload_successful 0$/m);
  t.equal(service.liveWorkerPids().length, 1, 'the worker still serves');
});

t.test('a reload a worker does not confirm (stalled: SIGSTOP) fails, names the worker, and every worker stays on the old routing', async (t) => {
  const { service, file, metricsPort } = await startWithRoutingFile({ 'cdn-a.test': 1 }, { WORKERS: '2' });
  t.teardown(() => service.stop());
  const [stalled, other] = service.liveWorkerPids();
  process.kill(stalled as number, 'SIGSTOP');
  let resumed = false;
  t.teardown(() => void (resumed || process.kill(stalled as number, 'SIGCONT')));
  const since = service.logs.length;
  // The file watch alone triggers it (a SIGHUP as well would queue a second attempt).
  writeFileSync(file, routingYaml({ 'cdn-b.test': 1 }));
  const failed = await service.waitForLog((l) => l.msg?.startsWith('routing reload failed to apply') === true, 15_000, since);
  t.match(failed.msg, new RegExp(`1 of 2 workers did not take routing [0-9a-f]{12}, so none serves it: worker \\d+ \\(pid ${stalled}\\): no answer within 3000 ms`), 'the line names the stalled worker and why');
  t.equal(failed.level, 50, 'an error');
  t.notOk(service.logs.slice(since).some((l) => l.msg?.startsWith('routing reloaded') === true), 'no success was logged');
  const before = (service.logs.find((l) => l.msg === 'starting video-balancer')?.['config'] as { routing?: { id?: string } } | undefined)?.routing?.id;
  process.kill(stalled as number, 'SIGCONT');
  resumed = true;
  // The stalled worker takes the new routing, then the old one sent after it; the other went back already.
  await service.waitForLogCount((l) => typeof l.msg === 'string' && l.msg.startsWith('serving routing') && l.pid === stalled, 2, 10_000);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.match(metrics, /^balancer_config_last_reload_successful 0$/m, 'balancer_config_last_reload_successful 0');
  t.match(metrics, new RegExp(`^balancer_config_info\\{routing_id="${failed['routingId']}"\\} 1$`, 'm'), 'balancer_config_info still names the routing that served');
  t.equal(failed['routingId'], before, `which is the one from the start (${before})`);
  // Fresh connections land on either worker: all of them answer with the old pool (or the origin, every 10th call of a worker).
  for (let i = 0; i < 20; i++) {
    const client = new RedirectClient(service.port, { ownConnection: true });
    const [answer] = await answers(client, 1);
    t.ok(answer === cdn('cdn-a.test') || answer === VIDEO, `connection ${i + 1}: the old pool (${answer})`);
    client.close();
  }
  t.same(service.liveWorkerPids().sort(), [stalled, other].sort(), 'the same workers serve');

  // With every worker answering, the same file reloads.
  writeFileSync(file, routingYaml({ 'cdn-c.test': 1 }));
  service.child.kill('SIGHUP');
  const reloaded = await service.waitForLog((l) => l.msg?.startsWith('routing reloaded') === true, 15_000, since);
  t.ok(reloaded, `then a reload all workers confirm succeeds (routing ${reloaded['routingId']})`);
  await service.waitForLogCount((l) => l.msg === `serving routing ${reloaded['routingId']}`, 2);
  const client = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => client.close());
  t.ok(await until(client, 'cdn-c.test', 2000) < 2000, 'and serves');
  const after = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.match(after, /^balancer_config_last_reload_successful 1$/m);
});

t.test('a ConfigMap-style update (a symlink swapped atomically) is followed without a signal', async (t) => {
  // As the kubelet lays a ConfigMap out: routing.yaml -> ..data/routing.yaml, ..data -> ..v1.
  const dir = mkdtempSync(join(tmpdir(), 'configmap-'));
  mkdirSync(join(dir, '..v1'));
  writeFileSync(join(dir, '..v1', 'routing.yaml'), routingYaml({ 'cdn-a.test': 1 }));
  symlinkSync('..v1', join(dir, '..data'));
  symlinkSync('..data/routing.yaml', join(dir, 'routing.yaml'));
  const service = await startService({ WORKERS: '2', CONFIG_FILE: join(dir, 'routing.yaml') });
  t.teardown(() => service.stop());
  const client = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => client.close());
  t.same(await answers(client, 2), Array(2).fill(cdn('cdn-a.test')));
  const load = new SteadyLoad(service.port, VIDEO, { connections: 2 });
  mkdirSync(join(dir, '..v2'));
  writeFileSync(join(dir, '..v2', 'routing.yaml'), routingYaml({ 'cdn-z.test': 1 }));
  symlinkSync('..v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  const ms = await until(client, 'cdn-z.test', 2000);
  await load.stop();
  t.ok(ms < 2000, `the answers changed ${ms} ms after the swap`);
  t.same(load.failures, [], 'no call failed');
  // The primary says so once every worker has confirmed: after the first answers change, not before.
  const logged = await service
    .waitForLog((l) => l.trigger === 'file changed' && l.msg?.startsWith('routing reloaded') === true, 5000)
    .catch(() => undefined);
  t.ok(logged, 'logged as a file change');
});

t.test('check-config: the routing it would serve and exit 0, or the error and exit 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'check-'));
  const good = join(dir, 'good.yaml');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(good, routingYaml({ 'cdn-a.example.com': 3, 'cdn-b.example.com': 1 }));
  writeFileSync(bad, 'cdn:\n  hosts:\n    - host: cdn-a.example.com\n    - host: cdn-b.example.com\n      weight: 1001\n');
  const cli = join(PROJECT_ROOT, 'dist/src/cli/check-config.js');
  const ok = await promisify(execFile)(process.execPath, [cli, good]);
  t.match(ok.stdout, /: ok, routing [0-9a-f]{12}\n/);
  t.match(ok.stdout, /host: http:\/\/cdn-a\.example\.com\n\s+weight: 3/);
  const failed = await promisify(execFile)(process.execPath, [cli, bad]).catch((error: { code: number; stderr: string }) => error);
  t.equal((failed as { code: number }).code, 1);
  t.equal((failed as { stderr: string }).stderr, `CONFIG_FILE=${JSON.stringify(bad)} is invalid: cdn.hosts[1].weight: must be a whole number from 1 to 1000\n`);
  const conflict = await promisify(execFile)(process.execPath, [cli, good], { env: { ...process.env, CDN_HOST: 'other.example.com' } }).catch(
    (error: { code: number; stderr: string }) => error,
  );
  t.match((conflict as { stderr: string }).stderr, /CDN_HOST="other\.example\.com" is invalid: is set in the environment and by cdn\.hosts in CONFIG_FILE/);
});
