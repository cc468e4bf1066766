import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import t from 'tap';
import { processName } from '../helpers/process-name.js';
import { assertPortFree, findFreePort } from '../../src/cluster/free-port.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { PROJECT_ROOT } from '../helpers/service-process.js';
import { SteadyLoad } from '../helpers/steady-load.js';

const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const PM2 = join(PROJECT_ROOT, 'node_modules/.bin/pm2');
const pm2Home = mkdtempSync(join(tmpdir(), 'vb-pm2-'));
const port = await findFreePort('127.0.0.1');
/**
 * Instance N serves metrics on METRICS_PORT + N: both ports must be free, and neither the gRPC
 * port. (Two ports picked one at a time are often neighbours: instance 1's metrics then could not
 * listen, and its /healthz refused connections.)
 */
async function findFreePortPair(): Promise<number> {
  for (;;) {
    const first = await findFreePort('127.0.0.1');
    if (first === port || first + 1 === port || first + 1 > 65535) continue;
    if (await assertPortFree('127.0.0.1', first + 1).then(() => true, () => false)) return first;
  }
}
const metricsPort = await findFreePortPair();
// Each instance reads and reloads the routing file itself.
const routingFile = join(pm2Home, 'routing.yaml');
const routing = (host: string) => `cdn:\n  hosts:\n    - host: ${host}\n`;
writeFileSync(routingFile, routing('cdn.example.com'));
// PM2_HOME in a temp folder: the test touches no pm2 daemon or log outside it.
const env = {
  ...process.env,
  PM2_HOME: pm2Home,
  WORKERS: '2',
  GRPC_HOST: '127.0.0.1',
  GRPC_PORT: String(port),
  METRICS_PORT: String(metricsPort),
  METRICS_HOST: '127.0.0.1',
  SHUTDOWN_TIMEOUT_MS: '2000',
  CONFIG_FILE: routingFile,
};
const pm2 = (...args: string[]) => promisify(execFile)(PM2, args, { cwd: PROJECT_ROOT, env, timeout: 60_000 });
t.teardown(async () => {
  await pm2('kill').catch(() => undefined);
  rmSync(pm2Home, { recursive: true, force: true });
});

const logLines = () =>
  readdirSync(join(pm2Home, 'logs'))
    .filter((f) => f.endsWith('-out.log') || f.endsWith('.log'))
    .flatMap((f) => readFileSync(join(pm2Home, 'logs', f), 'utf8').split('\n'))
    .filter(Boolean);

t.test('pm2 start ecosystem.config.cjs serves correct answers from 2 instances', async (t) => {
  await pm2('start', 'ecosystem.config.cjs');
  const { stdout } = await pm2('jlist');
  const apps = JSON.parse(stdout) as Array<{ name: string; pid: number; pm2_env: { status: string; exec_mode: string } }>;
  t.equal(apps.length, 2, 'two instances');
  const names = apps.map((a) => processName(a.pid));
  t.same(names.map((n) => n.comm), ['video-balancer', 'video-balancer'], 'each instance has the kernel name video-balancer');
  t.same(names.map((n) => n.cmdline).sort(), ['video-balancer: pm2 instance 0', 'video-balancer: pm2 instance 1'], 'and says which instance it is');
  t.ok(apps.every((a) => a.pm2_env.status === 'online' && a.pm2_env.exec_mode === 'cluster_mode'), 'online in cluster mode');
  const client = new RedirectClient(port, { ownConnection: true });
  const answers = [];
  for (let i = 0; i < 10; i++) answers.push((await client.redirect(VIDEO)).redirect);
  client.close();
  t.same(answers.slice(0, 9), Array(9).fill('http://cdn.example.com/s1/video/123/xcg2djHckad.m3u8'));
  t.equal(answers[9], VIDEO, 'the 10th call on one connection goes to the origin');
  t.same(logLines().filter((l) => l.includes('cannot serve metrics')), [], 'both instances serve their metrics');
  const starts = logLines().filter((l) => l.includes('"msg":"starting under pm2"')).map((l) => JSON.parse(l) as { node: string });
  t.same(starts.map((l) => l.node), [process.version, process.version], `both instances run on the Node.js that runs npm scripts (${process.version})`);
  for (const instance of [0, 1]) {
    const response = await fetch(`http://127.0.0.1:${metricsPort + instance}/healthz`);
    t.equal(response.status, 200, `instance ${instance} serves its own /healthz on METRICS_PORT + ${instance}`);
  }
});

t.test('pm2 reload under steady calls: zero failed calls', async (t) => {
  const load = new SteadyLoad(port, VIDEO, { connections: 4 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await pm2('reload', 'video-balancer');
  await new Promise((resolve) => setTimeout(resolve, 300));
  await load.stop();
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(load.outcomes))}`);
  t.same(load.failures, [], 'no call failed');
  t.ok(load.succeeded > 50, `${load.succeeded} calls succeeded`);
});

t.test('pm2: kill -9 of an instance, five times under load: only calls in flight fail, fast', async (t) => {
  const instances = async () => {
    const { stdout } = await pm2('jlist');
    return (JSON.parse(stdout) as Array<{ pid: number; pm2_env: { status: string } }>).filter((a) => a.pm2_env.status === 'online' && a.pid > 0);
  };
  const load = new SteadyLoad(port, VIDEO, { connections: 8, deadlineMs: 3000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (let kill = 0; kill < 5; kill++) {
    const before = await instances();
    const victim = (before[kill % before.length] as { pid: number }).pid;
    process.kill(victim, 'SIGKILL');
    // pm2 restarts the instance; with wait_ready it is online once it listens.
    for (;;) {
      const now = await instances();
      if (now.length === 2 && !now.some((a) => a.pid === victim)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const succeeded = load.succeeded;
    while (load.succeeded < succeeded + 8) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await load.stop();
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(load.outcomes))}`);
  t.same(load.failures.filter((f) => f.code !== 'UNAVAILABLE' || f.ms >= 1000), [], 'every failed call is UNAVAILABLE (none DEADLINE_EXCEEDED), within a second');
  t.ok(load.succeeded > 100, `${load.succeeded} calls succeeded`);
});

t.test('pm2 sendSignal SIGHUP: each instance reloads its routing in place', async (t) => {
  const pids = async () =>
    (JSON.parse((await pm2('jlist')).stdout) as Array<{ pid: number }>).map((a) => a.pid).sort((a, b) => a - b);
  const before = await pids();
  writeFileSync(routingFile, routing('cdn-reloaded.example.com'));
  await pm2('sendSignal', 'SIGHUP', 'video-balancer');
  // Each instance reloads on the file change or the signal, whichever comes first; the other
  // finds the same routing. What counts: both instances serve the new routing.
  const reloadedPids = () =>
    new Set(
      logLines()
        .filter((l) => l.includes('routing reloaded') && l.includes('cdn-reloaded.example.com'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    );
  for (let i = 0; i < 50 && reloadedPids().size < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  t.same([...reloadedPids()].sort((a, b) => a - b), before, 'both instances reloaded, and said what was added');
  const clients = Array.from({ length: 6 }, () => new RedirectClient(port, { ownConnection: true }));
  const answers = (await Promise.all(clients.map((c) => c.redirect(VIDEO)))).map((a) => a.redirect);
  clients.forEach((c) => c.close());
  // Each instance's rotation counter carried on from the tests before: one call in ten is the origin's.
  const cdnAnswers = answers.filter((a) => a !== VIDEO);
  t.ok(cdnAnswers.length >= 4, `${cdnAnswers.length} of 6 went to the CDN`);
  t.same(new Set(cdnAnswers), new Set(['http://cdn-reloaded.example.com/s1/video/123/xcg2djHckad.m3u8']), 'every CDN answer names the new pool');
  t.same(await pids(), before, 'the same processes');
});

t.test('pm2 stop drains, and the logs are JSON', async (t) => {
  await pm2('stop', 'video-balancer');
  const lines = logLines();
  t.ok(lines.some((l) => l.includes('worker drained')), 'instances drained before stopping');
  const client = new RedirectClient(port, { ownConnection: true });
  t.equal(status[(await client.redirect(VIDEO, 1000)).code], 'UNAVAILABLE', 'nothing listens after stop');
  client.close();
  const parsed = lines.map((line) => {
    try {
      return JSON.parse(line) as { msg?: string; role?: string };
    } catch {
      return undefined;
    }
  });
  t.ok(parsed.every((l) => l?.role === 'worker' && typeof l.msg === 'string'), 'every log line is one of the service\'s JSON lines');
});
