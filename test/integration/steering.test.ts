import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { findFreePort } from '../../src/cluster/free-port.js';
import { decodeResponseRedirect, encodeRequest } from '../../src/grpc/redirect-codec.js';
import { geoDbWriterAvailable, writeGeoDb } from '../helpers/geo-db.js';
import { grpcFrame, H2GrpcClient } from '../helpers/h2-grpc-call.js';
import { PROJECT_ROOT, startService } from '../helpers/service-process.js';
import { SteadyLoad } from '../helpers/steady-load.js';

/**
 * Steering against a real server over real sockets: gRPC and HTTP clients connecting from
 * different loopback addresses (any of 127.0.0.0/8 works without setup, and ::1), a trusted
 * proxy sending each forwarding header, an untrusted peer whose headers are ignored, a real
 * MaxMind DB written by MaxMind's own Perl writer, a Traffic Router coverage zone file, and
 * reloads of the zones under load.
 */
if (!geoDbWriterAvailable() && process.env['CI']) throw new Error('libmaxmind-db-writer-perl is missing, and CI installs it (.ci/run)');
const skip = geoDbWriterAvailable() ? false : 'needs libmaxmind-db-writer-perl (apt-get install libmaxmind-db-writer-perl)';

const VIDEO = 'http://s1.origin-cluster/video/123/x.m3u8';
const dir = mkdtempSync(join(tmpdir(), 'vb-steer-'));
const czf = join(dir, 'czf.json');
const routingFile = join(dir, 'routing.yaml');
const writeCzf = (zones: Record<string, string[]>) =>
  writeFileSync(czf, JSON.stringify({ revision: String(Date.now()), customerName: 'test', coverageZones: Object.fromEntries(Object.entries(zones).map(([name, network]) => [name, { network }])) }));
const routing = (database: string) => `cdn:
  pools:
    default: { hosts: [cdn-default.test] }
    eu: { hosts: [cdn-eu.test] }
    us: { hosts: [cdn-us.test] }
    asia: { hosts: [cdn-asia.test] }
origin:
  every: 0
steering:
  trustedProxies: [127.0.0.5/32, '::1/128']
  coverageZoneFile: ${czf}
  zones:
    - name: office
      networks: [127.0.7.0/24]
      pool: asia
  geo:
    database: ${database}
    countries: { US: us, DE: eu }
    continents: { EU: eu, AS: asia }
`;

t.test('steering', { skip }, async (t) => {
  const database = writeGeoDb(join(dir, 'country.mmdb'));
  writeCzf({ eu: ['127.0.9.0/24'] });
  writeFileSync(routingFile, routing(database));
  const metricsPort = await findFreePort('127.0.0.1');
  const httpPort = await findFreePort('127.0.0.1');
  const service = await startService({
    WORKERS: '1',
    GRPC_HOST: '::',
    HTTP_PORT: String(httpPort),
    CONFIG_FILE: routingFile,
    LOG_LEVEL: 'debug',
    METRICS_PORT: String(metricsPort),
    METRICS_HOST: '127.0.0.1',
  });
  t.teardown(() => service.stop());

  /** The CDN host a Redirect call from `localAddress` is answered with (with `headers`). */
  const hostFor = async (localAddress: string, headers: Record<string, string> = {}) => {
    const client = new H2GrpcClient(service.port, { host: localAddress.includes(':') ? '::1' : '127.0.0.1', localAddress });
    try {
      const answer = await client.call({ chunks: [grpcFrame(encodeRequest(VIDEO))], headers });
      if (answer.grpcStatus !== '0') return `status ${answer.grpcStatus}: ${answer.grpcMessage}`;
      return new URL(decodeResponseRedirect(answer.data.subarray(5))).host;
    } finally {
      client.close();
    }
  };
  const httpHostFor = (localAddress: string, headers: Record<string, string> = {}) =>
    new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: httpPort, path: `/redirect?video=${encodeURIComponent(VIDEO)}`, localAddress, headers }, (response) => {
        response.resume();
        resolve(response.statusCode === 302 ? new URL(response.headers.location as string).host : `HTTP ${response.statusCode}`);
      });
      req.on('error', reject);
      req.end();
    });

  await t.test('each viewer gets the pool of its network, country or continent, over gRPC and over HTTP', async (t) => {
    const rows: Array<[string, string, string]> = [
      ['127.0.9.7', 'cdn-eu.test', 'zone eu of the coverage zone file'],
      ['127.0.7.7', 'cdn-asia.test', 'zone office of the routing file'],
      ['127.0.1.7', 'cdn-us.test', 'country US'],
      ['127.0.2.7', 'cdn-eu.test', 'country DE'],
      ['127.0.3.7', 'cdn-eu.test', 'continent EU (France is not mapped)'],
      ['127.0.4.7', 'cdn-asia.test', 'continent AS'],
      ['127.0.0.9', 'cdn-default.test', 'nothing matches: default'],
    ];
    for (const [address, host, why] of rows) {
      t.equal(await hostFor(address), host, `gRPC from ${address}: ${why}`);
      t.equal(await httpHostFor(address), host, `HTTP from ${address}: ${why}`);
    }
    t.equal(await hostFor('::1'), 'cdn-default.test', 'gRPC from ::1 (a trusted proxy without headers): its own address, default');
  });

  await t.test('a trusted proxy: each forwarding header is believed; garbage leaves the proxy\'s own address', async (t) => {
    const proxy = '127.0.0.5';
    t.equal(await hostFor(proxy, { 'x-forwarded-for': '127.0.2.9' }), 'cdn-eu.test', 'x-forwarded-for');
    t.equal(await hostFor(proxy, { 'x-forwarded-for': '127.0.1.9, 127.0.0.5' }), 'cdn-us.test', 'x-forwarded-for, walked from the right past the trusted hop');
    t.equal(await hostFor(proxy, { forwarded: 'for=127.0.4.9;proto=https' }), 'cdn-asia.test', 'forwarded for=');
    t.equal(await hostFor(proxy, { forwarded: 'for="[::ffff:127.0.9.9]:443"' }), 'cdn-eu.test', 'forwarded, bracketed IPv4-mapped with a port');
    t.equal(await hostFor(proxy, { 'x-real-ip': '127.0.1.9' }), 'cdn-us.test', 'x-real-ip');
    t.equal(await hostFor('::1', { 'x-forwarded-for': '127.0.4.9' }), 'cdn-asia.test', 'from ::1, a trusted IPv6 proxy');
    for (const garbage of ['nonsense', '999.0.0.1', 'fe80::1%eth0', `${'1,'.repeat(5000)}x`]) {
      t.equal(await hostFor(proxy, { 'x-forwarded-for': garbage }), 'cdn-default.test', `garbage (${garbage.slice(0, 16)}): the proxy's own address, no error`);
    }
    t.equal(await httpHostFor(proxy, { 'x-forwarded-for': '127.0.2.9' }), 'cdn-eu.test', 'the front door believes the same proxy');
  });

  await t.test('an untrusted peer cannot choose its pool by sending headers', async (t) => {
    t.equal(await hostFor('127.0.1.7', { 'x-forwarded-for': '127.0.4.9', forwarded: 'for=127.0.4.9', 'x-real-ip': '127.0.4.9' }), 'cdn-us.test');
    t.equal(await httpHostFor('127.0.1.7', { 'x-forwarded-for': '127.0.4.9' }), 'cdn-us.test', 'nor over HTTP');
  });

  await t.test('visible: metrics by pool and method, a debug line naming the viewer and its pool', async (t) => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    for (const method of ['zone', 'country', 'continent', 'default']) {
      t.match(text, new RegExp(`^balancer_steering_decisions_total\\{method="${method}"\\} [1-9]`, 'm'), `decisions by ${method} are counted`);
    }
    t.match(text, /^balancer_redirects_total\{target="cdn",cdn_host="cdn-asia\.test",pool="asia"\} [1-9]/m, 'answers by pool');
    const line = await service.waitForLog((l) => l.msg === 'redirect' && l['viewer'] === '127.0.4.7', 5000).catch(() => undefined);
    t.match(line, { pool: 'asia', steeredBy: 'continent' }, 'the debug line names the viewer, its pool and why');
  });

  await t.test('check-config --client and --peer/--forwarded-for say which pool and why', async (t) => {
    const cli = join(PROJECT_ROOT, 'dist/src/cli/check-config.js');
    const run = (...args: string[]) => promisify(execFile)(process.execPath, [cli, routingFile, ...args]).then((r) => r.stdout);
    t.match(await run('--client', '127.0.9.1'), /viewer 127\.0\.9\.1: pool eu \(zone eu, network 127\.0\.9\.0\/24\); its hosts: http:\/\/cdn-eu\.test/);
    t.match(await run('--client', '127.0.3.1'), /viewer 127\.0\.3\.1: pool eu \(continent EU \(country FR\)\)/);
    t.match(await run('--client', '127.0.1.1'), /pool us \(country US\)/);
    t.match(await run('--peer', '127.0.0.5', '--forwarded-for', '127.0.4.4, 127.0.0.5'), /peer 127\.0\.0\.5 is a trusted proxy: the viewer is 127\.0\.4\.4[\s\S]*pool asia/);
    t.match(await run('--peer', '127.0.1.1', '--forwarded-for', '127.0.4.4'), /is not a trusted proxy[\s\S]*viewer 127\.0\.1\.1: pool us/);
  });

  await t.test('the coverage zone file and the routing file reload in place under load, with no failed call', async (t) => {
    const load = new SteadyLoad(service.port, VIDEO, { connections: 4 });
    const before = service.logs.length;
    writeCzf({ asia: ['127.0.9.0/24'] });
    await service.waitForLog((l) => l.msg?.startsWith('routing reloaded') === true, 10_000, before);
    t.equal(await hostFor('127.0.9.7'), 'cdn-asia.test', 'a changed coverage zone file moves its zone (watched like the routing file)');
    writeFileSync(routingFile, routing(database).replace('networks: [127.0.7.0/24]\n      pool: asia', 'networks: [127.0.7.0/24]\n      pool: us'));
    await service.waitForLogCount((l) => l.msg?.startsWith('routing reloaded') === true, 2, 10_000);
    t.equal(await hostFor('127.0.7.7'), 'cdn-us.test', 'a changed zone of the routing file too');
    await load.stop();
    t.same(load.failures, [], `no failed call across the reloads (${load.succeeded} succeeded)`);
    t.equal(service.liveWorkerPids().length, 1, 'the same worker');
  });

  await t.test('a bad coverage zone file or database is refused with one line; the running routing stays', async (t) => {
    for (const [what, breakIt] of [
      ['coverage zone file', () => writeFileSync(czf, '{"coverageZones": {"asia": {"network": ["127.0.9.0/33"]}}}')],
      ['database', () => writeFileSync(database, 'not a MaxMind DB')],
    ] as const) {
      if (what === 'database') {
        // The coverage zone file fixed first: it is checked before the database.
        const fixed = service.logs.length;
        writeCzf({ asia: ['127.0.9.0/24'] });
        await service.waitForLog((l) => l.msg?.startsWith('routing reloaded') === true, 10_000, fixed);
      }
      const since = service.logs.length;
      breakIt();
      const refused = await service.waitForLog((l) => l.msg?.startsWith('routing reload refused') === true, 10_000, since);
      t.match(refused.msg, what === 'database' ? /steering\.geo\.database: ".*country\.mmdb" is not a MaxMind DB file/ : /steering\.coverageZoneFile ".*czf\.json", coverageZones\.asia\.network\[0\]/, `the ${what}: the line names the file and what is wrong`);
      t.equal(await hostFor('127.0.9.7'), 'cdn-asia.test', 'the running routing still answers');
    }
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    t.match(metrics, /^balancer_config_last_reload_successful 0$/m);
  });
});

t.test('bad steering stops start-up with one line naming the key, exit 1', { skip }, async (t) => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'cdn:\n  pools:\n    default: { hosts: [a.test] }\nsteering:\n  zones:\n    - name: z\n      networks: [10.0.0.0/8]\n      pool: mars\n');
  const result = await promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'dist/src/main.js')], { env: { ...process.env, CONFIG_FILE: bad, GRPC_PORT: '0', METRICS_PORT: '0' } }).catch(
    (error: { code: number; stderr: string }) => error,
  );
  t.equal((result as { code: number }).code, 1);
  t.match((result as { stderr: string }).stderr, /^video-balancer: invalid configuration: CONFIG_FILE=".*bad\.yaml" is invalid: steering\.zones\[0\]\.pool: names no pool "mars"/);
});
