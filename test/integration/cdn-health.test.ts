import t from 'tap';
import { findFreePort } from '../../src/cluster/free-port.js';
import { NginxServer, nginxAvailable } from '../helpers/nginx.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { startService, type ServiceProcess } from '../helpers/service-process.js';

/**
 * CDN hosts played by real nginx servers: one is stopped and started again while the service
 * health-checks them. CI installs nginx (.ci/run); without it this file fails, it does not skip.
 */
t.ok(nginxAvailable(), 'nginx is installed (apt-get install nginx)');

const INTERVAL_MS = 200;
const FALL = 2;
const RISE = 2;
const TIMEOUT_MS = 300;
/** The promise: a stopped host gets no answers within interval x fall + timeout. */
const DETECTION_MS = INTERVAL_MS * FALL + TIMEOUT_MS;
/** What a busy 2-core machine adds to the service's own timers; measured on the service's clock. */
const SCHEDULING_SLACK_MS = 300;

const hosts = await Promise.all(
  [0, 1, 2].map(async () => {
    const server = new NginxServer(await findFreePort('127.0.0.1'), 'location = /healthz { return 200 "ok\\n"; }\n    location / { return 200 "$uri\\n"; }');
    await server.start();
    return server;
  }),
);
t.teardown(() => Promise.all(hosts.map((h) => h.remove())));
const hostNames = hosts.map((h) => `127.0.0.1:${h.port}`);

async function startPoolService(policy: 'weighted' | 'hash', extra: Record<string, string> = {}): Promise<ServiceProcess> {
  return startService({
    ...extra,
    WORKERS: '2',
    ORIGIN_EVERY: '0',
    CDN_HOSTS: hostNames.join(','),
    CDN_POLICY: policy,
    CDN_HEALTH_PATH: '/healthz',
    CDN_HEALTH_INTERVAL_MS: String(INTERVAL_MS),
    CDN_HEALTH_TIMEOUT_MS: String(TIMEOUT_MS),
    CDN_HEALTH_FALL: String(FALL),
    CDN_HEALTH_RISE: String(RISE),
  });
}

/** Waits until the primary logged the transition and both workers applied it; returns when (service clock). */
async function transition(service: ServiceProcess, message: string, workersBefore: number): Promise<number> {
  const line = await service.waitForLog((l) => l.msg === message, 10_000);
  await service.waitForLogCount((l) => l.msg === 'CDN hosts that are up changed', workersBefore + 2, 10_000);
  return Date.parse(String(line['time']));
}

const appliedCount = (service: ServiceProcess) => service.logs.filter((l) => l.msg === 'CDN hosts that are up changed').length;

/** Which host each answer points to, over `calls` calls for `videos` distinct videos, on 4 connections. */
async function answers(service: ServiceProcess, videos: string[]): Promise<string[]> {
  const clients = Array.from({ length: 4 }, () => new RedirectClient(service.port, { ownConnection: true }));
  const hostsOf = await Promise.all(
    videos.map(async (video, i) => {
      const result = await (clients[i % clients.length] as RedirectClient).redirect(video);
      return /^http:\/\/([^/]+)\//.exec(result.redirect ?? '')?.[1] ?? `failed: ${result.details}`;
    }),
  );
  clients.forEach((c) => c.close());
  return hostsOf;
}

const share = (hostsOf: string[], host: string) => hostsOf.filter((h) => h === host).length;

t.test('weighted pool: a stopped host gets no answers within interval x fall + timeout; back, it gets its share', async (t) => {
  const metricsPort = await findFreePort('127.0.0.1');
  const service = await startPoolService('weighted', { METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' });
  t.teardown(() => service.stop());
  const videos = Array.from({ length: 90 }, (_, i) => `http://s1.origin-cluster/video/${i}.ts`);
  const before = await answers(service, videos);
  for (const host of hostNames) t.ok(share(before, host) >= 25, `${host} had its share before: ${share(before, host)} of 90`);

  const [, stopped] = hostNames as [string, string, string];
  const stoppedAt = Date.now();
  await (hosts[1] as NginxServer).stop();
  const downAt = await transition(service, `CDN host http://${stopped} is down`, appliedCount(service));
  t.ok(downAt - stoppedAt <= DETECTION_MS + SCHEDULING_SLACK_MS, `down ${downAt - stoppedAt} ms after the stop (promise: ${DETECTION_MS} ms)`);
  const during = await answers(service, videos);
  t.equal(share(during, stopped), 0, 'no answer points to the stopped host');
  t.equal(share(during, hostNames[0] as string) + share(during, hostNames[2] as string), 90, 'every answer went to the other two');
  t.ok(Math.abs(share(during, hostNames[0] as string) - 45) <= 4, `and they keep equal shares: ${share(during, hostNames[0] as string)} / ${share(during, hostNames[2] as string)}`);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.match(metrics, `balancer_cdn_host_up{cdn_host="${stopped}"} 0`, 'the metric shows it down');
  t.match(metrics, `balancer_cdn_host_up{cdn_host="${hostNames[0]}"} 1`, 'and the others up');
  t.match(metrics, new RegExp(`balancer_cdn_health_checks_total\\{cdn_host="${stopped}",result="failure"\\} [1-9]`), 'its failed checks are counted');
  const downLine = service.logs.find((l) => l.msg === `CDN host http://${stopped} is down`);
  t.match(downLine?.['reason'], /ECONNREFUSED/, 'the transition is logged with its reason');

  await (hosts[1] as NginxServer).start();
  await transition(service, `CDN host http://${stopped} is up again`, appliedCount(service));
  const after = await answers(service, videos);
  t.ok(share(after, stopped) >= 25, `the host is back with its share: ${share(after, stopped)} of 90`);
  t.equal(service.logs.filter((l) => l.msg === `CDN host http://${stopped} is down`).length, 1, 'one line per transition, not per check');
});

t.test('hash pool: a stopped host\'s videos move to the others, nobody else\'s do, and they come back', async (t) => {
  const service = await startPoolService('hash');
  t.teardown(() => service.stop());
  const videos = Array.from({ length: 120 }, (_, i) => `http://s${i % 7}.origin-cluster/video/${i}/index.m3u8`);
  const before = await answers(service, videos);
  const stopped = hostNames[2] as string;
  t.ok(share(before, stopped) > 20, `the host had ${share(before, stopped)} of 120 videos`);
  await (hosts[2] as NginxServer).stop();
  await transition(service, `CDN host http://${stopped} is down`, appliedCount(service));
  const during = await answers(service, videos);
  t.equal(share(during, stopped), 0, 'none of its videos go to it');
  t.same(during.filter((_, i) => before[i] !== stopped), before.filter((h) => h !== stopped), 'every other video stays where it was');
  await (hosts[2] as NginxServer).start();
  await transition(service, `CDN host http://${stopped} is up again`, appliedCount(service));
  t.same(await answers(service, videos), before, 'its videos come back to it, and only those move');
});

t.test('every host down: answers go to the origin, with one warning; a worker that starts then knows it', async (t) => {
  const service = await startPoolService('weighted');
  t.teardown(() => service.stop());
  const video = 'http://s1.origin-cluster/video/1.ts';
  await Promise.all(hosts.map((h) => h.stop()));
  await service.waitForLog((l) => l.msg === 'every CDN host is down: answers go to the origin servers until one is up again', 10_000);
  await service.waitForLogCount((l) => l.msg === 'CDN hosts that are up changed', 2 * 3, 10_000).catch(() => undefined);
  t.same(await answers(service, [video, video, video, video]), Array(4).fill('s1.origin-cluster'), 'the origin answers');
  // A worker started now must not send players to dead hosts while it learns.
  const [victim] = service.liveWorkerPids();
  process.kill(victim as number, 'SIGKILL');
  await service.waitForLogCount((l) => l.msg === 'worker listening', 3);
  t.same(await answers(service, Array(8).fill(video)), Array(8).fill('s1.origin-cluster'), 'the replacement started knowing every host is down');
  t.equal(service.logs.filter((l) => /every CDN host is down/.test(String(l.msg))).length, 1, 'warned once, not per call');
  await Promise.all(hosts.map((h) => h.start()));
  await service.waitForLog((l) => l.msg === 'a CDN host is up again: answers go to the CDN', 10_000);
});
