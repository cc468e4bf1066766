import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { findFreePort } from '../../src/cluster/free-port.js';
import { NginxServer, nginxAvailable } from '../helpers/nginx.js';
import { TrafficServer, trafficServerAvailable } from '../helpers/traffic-server.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { startService } from '../helpers/service-process.js';

/**
 * Least-loaded pools against real caches: nginx servers with stub_status as the CDN hosts,
 * loaded by real connections held open to one of them. CI installs nginx (.ci/run).
 */
t.ok(nginxAvailable(), 'nginx is installed (apt-get install nginx)');

const VIDEO = 'http://s1.origin-cluster/video/123/x.m3u8';
const STATUS = 'location = /nginx_status { stub_status; }\n    location / { return 200 "$uri\\n"; }';
const hosts = await Promise.all(
  [STATUS, STATUS, STATUS, 'location / { return 200 "<html>not a status page</html>\\n"; }'].map(async (locations) => {
    const server = new NginxServer(await findFreePort('127.0.0.1'), locations);
    await server.start();
    return server;
  }),
);
t.teardown(() => Promise.all(hosts.map((h) => h.remove())));
const names = hosts.map((h) => `127.0.0.1:${h.port}`);
const [a, b, c, notStatus] = names as [string, string, string, string];

const file = join(mkdtempSync(join(tmpdir(), 'vb-least-')), 'routing.yaml');
writeFileSync(
  file,
  `cdn:
  policy: least-loaded
  load: { format: nginx-stub-status, path: /nginx_status, intervalMs: 200 }
  hosts:
    - ${a}
    - ${b}
    - host: ${c}
      maxLoad: 40
    - ${notStatus}
origin:
  every: 0
`,
);
const metricsPort = await findFreePort('127.0.0.1');
const service = await startService({ WORKERS: '2', CONFIG_FILE: file, METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' });
t.teardown(() => service.stop());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connections held open to `host`, each a request whose headers never end: nginx counts them active. */
async function hold(host: string, count: number): Promise<Socket[]> {
  const [address, port] = host.split(':') as [string, string];
  return Promise.all(
    Array.from({ length: count }, () =>
      new Promise<Socket>((resolve, reject) => {
        const socket = connect(Number(port), address, () => {
          socket.write('GET /held HTTP/1.1\r\nHost: cdn\r\n');
          resolve(socket);
        });
        socket.on('error', reject);
      }),
    ),
  );
}

/** The share of each host in `calls` new viewers, over 4 connections (both workers). */
async function shares(calls: number): Promise<Map<string, number>> {
  const clients = Array.from({ length: 4 }, () => new RedirectClient(service.port, { ownConnection: true }));
  const counts = new Map<string, number>();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < calls / 4; i++) {
        const answer = (await client.redirect(VIDEO)).redirect ?? 'failed';
        const host = answer.startsWith('http://') ? new URL(answer).host : answer;
        counts.set(host, (counts.get(host) ?? 0) + 1);
        // Paced, so that readings (every 200 ms) happen in between, as they do between real viewers.
        await sleep(5);
      }
    }),
  );
  for (const client of clients) client.close();
  return counts;
}

/** Waits until the primary's last reading of `host` satisfies `accept`. */
async function reading(host: string, accept: (load: number) => boolean): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const load = Number(new RegExp(`^balancer_cdn_host_load\\{cdn_host="${host.replace(/\./g, '\\.')}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    if (accept(load)) return load;
    if (Date.now() > deadline) throw new Error(`no reading of ${host} as expected within 10 s (last ${load})`);
    await sleep(100);
  }
}

t.test('a host whose status page is not a status page gets no viewers; the others share them', async (t) => {
  await service.waitForLog((l) => l.msg === `CDN host http://${notStatus} is down`);
  const counts = await shares(120);
  t.equal(counts.get(notStatus) ?? 0, 0, `${notStatus}: none`);
  for (const host of [a, b, c]) t.ok((counts.get(host) ?? 0) >= 15, `${host}: ${counts.get(host) ?? 0} of 120`);
  t.equal(counts.get('failed') ?? 0, 0, 'no call failed');
});

t.test('real connections held open to one host move new viewers away from it, and back once they close', async (t) => {
  const held = await hold(a, 120);
  t.teardown(() => held.forEach((s) => s.destroy()));
  const load = await reading(a, (l) => l >= 100);
  t.comment(`${a} reads ${load} active connections`);
  const during = await shares(200);
  t.ok((during.get(a) ?? 0) < 10, `${a}, loaded: ${during.get(a) ?? 0} of 200 new viewers (under 5%)`);
  held.forEach((s) => s.destroy());
  await reading(a, (l) => l < 10);
  const after = await shares(200);
  t.ok((after.get(a) ?? 0) >= 30, `${a}, released: ${after.get(a) ?? 0} of 200`);
});

t.test('maxLoad: a host over it gets no new viewers, with one line and a metric, and comes back under it', async (t) => {
  const since = service.logs.length;
  const held = await hold(c, 60);
  t.teardown(() => held.forEach((s) => s.destroy()));
  const over = await service.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith(`CDN host http://${c} is over its maxLoad`), 10_000, since);
  t.equal(over.level, 40, `a warning: ${over.msg}`);
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.match(text, new RegExp(`^balancer_cdn_host_over_max_load\\{cdn_host="${c}"\\} 1$`, 'm'), 'balancer_cdn_host_over_max_load 1');
  await sleep(300);
  const during = await shares(100);
  t.equal(during.get(c) ?? 0, 0, `${c}: no new viewer while over its maxLoad`);
  held.forEach((s) => s.destroy());
  await service.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith(`CDN host http://${c} is under its maxLoad again`), 10_000, since);
  await sleep(300);
  const after = await shares(120);
  t.ok((after.get(c) ?? 0) > 0, `${c}: back (${after.get(c)} of 120)`);
});

t.test('Apache Traffic Server: its stats_over_http load moves new viewers too', { skip: trafficServerAvailable() ? false : 'needs Debian\'s trafficserver (apt-get install trafficserver)' }, async (t) => {
  const servers = await Promise.all([0, 1].map(async () => new TrafficServer(await findFreePort('127.0.0.1'))));
  t.teardown(() => Promise.all(servers.map((s) => s.remove())));
  await Promise.all(servers.map((s) => s.start()));
  const [loaded, other] = servers.map((s) => `127.0.0.1:${s.port}`) as [string, string];
  const atsFile = join(mkdtempSync(join(tmpdir(), 'vb-ats-routing-')), 'routing.yaml');
  writeFileSync(atsFile, `cdn:\n  policy: least-loaded\n  load: { format: ats-stats-over-http, path: /_stats, intervalMs: 200 }\n  hosts: [${loaded}, ${other}]\norigin:\n  every: 0\n`);
  const atsMetrics = await findFreePort('127.0.0.1');
  const ats = await startService({ WORKERS: '1', CONFIG_FILE: atsFile, METRICS_PORT: String(atsMetrics), METRICS_HOST: '127.0.0.1' });
  t.teardown(() => ats.stop());
  const held = await hold(loaded, 80);
  t.teardown(() => held.forEach((s) => s.destroy()));
  const deadline = Date.now() + 10_000;
  let load = 0;
  while (!(load >= 50) && Date.now() < deadline) {
    const text = await (await fetch(`http://127.0.0.1:${atsMetrics}/metrics`)).text();
    load = Number(new RegExp(`^balancer_cdn_host_load\\{cdn_host="${loaded}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    await sleep(100);
  }
  t.ok(load >= 50, `${loaded} reports ${load} current client connections (proxy.process.http.current_client_connections)`);
  const client = new RedirectClient(ats.port, { ownConnection: true });
  t.teardown(() => client.close());
  let toLoaded = 0;
  for (let i = 0; i < 100; i++) {
    if ((await client.redirect(VIDEO)).redirect?.includes(`//${loaded}/`)) toLoaded++;
    // Paced, so that readings (every 200 ms) happen in between: within one reading a worker counts
    // each viewer it sends as one more connection, and 80 in a row would make the other host look as loaded.
    await sleep(5);
  }
  t.ok(toLoaded < 5, `${toLoaded} of 100 new viewers to the loaded Traffic Server`);
});
