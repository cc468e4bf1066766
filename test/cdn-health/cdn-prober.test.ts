import t from 'tap';
import { CdnProber } from '../../src/cdn-health/cdn-prober.js';
import { findFreePort } from '../../src/cluster/free-port.js';
import type { CheckResult } from '../../src/cdn-health/host-health.js';
import { createLogger } from '../../src/logging/logger.js';

const HOSTS = [
  { baseUrl: 'http://a.cdn', weight: 1 },
  { baseUrl: 'http://b.cdn', weight: 1 },
];
const SETTINGS = { path: '/healthz', intervalMs: 60_000, timeoutMs: 100, fall: 2, rise: 1 };

t.test('checks every host at <base URL><path>, counts results, and reports changes of the up set', async (t) => {
  const down = new Set<string>();
  const asked: string[] = [];
  const changes: string[][] = [];
  const check = async (url: string): Promise<CheckResult> => {
    asked.push(url);
    return down.has(url) ? { ok: false, reason: 'HTTP 503' } : { ok: true };
  };
  const prober = new CdnProber(HOSTS, SETTINGS, createLogger('silent'), (up) => changes.push([...up]), check);
  await prober.firstRound();
  t.same(asked, ['http://a.cdn/healthz', 'http://b.cdn/healthz']);
  t.same(changes, [], 'all up at first: nothing to report');
  down.add('http://b.cdn/healthz');
  await prober.round();
  t.same(changes, [], 'one failure is not yet down (fall 2)');
  await prober.round();
  t.same(changes, [['http://a.cdn']], 'two are: the up set is reported by base URL');
  down.clear();
  await prober.round();
  t.same(changes, [['http://a.cdn'], ['http://a.cdn', 'http://b.cdn']], 'one success brings it back (rise 1)');
  t.same(prober.checks, [{ success: 4, failure: 0 }, { success: 2, failure: 2 }]);
});

t.test('a host that fails its first check starts down', async (t) => {
  const changes: string[][] = [];
  const prober = new CdnProber(HOSTS, SETTINGS, createLogger('silent'), (up) => changes.push([...up]), async (url) =>
    url.startsWith('http://a') ? { ok: false, reason: 'ECONNREFUSED' } : { ok: true },
  );
  await prober.firstRound();
  t.same(prober.up, [false, true]);
  t.same(changes, [['http://b.cdn']]);
});

t.test('a prober for a reloaded pool keeps the state and counts of hosts that stay; a new host is decided by its first check', async (t) => {
  const down = new Set(['http://b.cdn/healthz', 'http://c.cdn/healthz']);
  const check = async (url: string): Promise<CheckResult> => (down.has(url) ? { ok: false, reason: 'HTTP 503' } : { ok: true });
  const before = new CdnProber(HOSTS, SETTINGS, createLogger('silent'), () => undefined, check);
  await before.firstRound();
  t.same(before.up, [true, false]);
  const reloaded = [{ baseUrl: 'http://c.cdn', weight: 1 }, { baseUrl: 'http://b.cdn', weight: 5 }, { baseUrl: 'http://a.cdn', weight: 1 }];
  const changes: string[][] = [];
  const after = new CdnProber(reloaded, SETTINGS, createLogger('silent'), (up) => changes.push([...up]), check, before);
  t.same(after.up, [true, false, true], 'b stays down and a up before any check; c is not decided yet');
  t.same(after.checks, [{ success: 0, failure: 0 }, { success: 0, failure: 1 }, { success: 1, failure: 0 }], 'counts carried over');
  down.delete('http://b.cdn/healthz');
  await after.firstRound();
  t.same(after.up, [false, true, true], 'c failed its first check: down at once; b came back (rise 1)');
  t.same(changes, [['http://b.cdn', 'http://a.cdn']]);
});

t.test('checkUrl: 2xx and 3xx are up; 5xx, refused and slow hosts are down, each with its reason', async (t) => {
  const { createServer } = await import('node:http');
  const { checkUrl } = await import('../../src/cdn-health/cdn-prober.js');
  const server = createServer((request, response) => {
    if (request.url === '/slow') return void setTimeout(() => response.end('late'), 500);
    response.statusCode = Number(request.url?.slice(1));
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.same(await checkUrl(`${base}/200`, 1000), { ok: true });
  t.same(await checkUrl(`${base}/302`, 1000), { ok: true });
  t.same(await checkUrl(`${base}/503`, 1000), { ok: false, reason: 'HTTP 503' });
  t.same(await checkUrl(`${base}/slow`, 100), { ok: false, reason: 'no answer within 100 ms' });
  const closedPort = await findFreePort('127.0.0.1');
  t.same(await checkUrl(`http://127.0.0.1:${closedPort}/healthz`, 1000), { ok: false, reason: 'ECONNREFUSED' });
});

t.test('load readings: reported every round; an unreadable page fails like a health check; maxLoad takes a host out and brings it back', async (t) => {
  const hosts = [
    { baseUrl: 'http://a.cdn', weight: 1, maxLoad: 100 },
    { baseUrl: 'http://b.cdn', weight: 1 },
  ];
  const loads = new Map<string, number | string>([
    ['http://a.cdn/status', 10],
    ['http://b.cdn/status', 20],
  ]);
  const reports: Array<{ up: string[]; loads: Record<string, number> }> = [];
  const lines: string[] = [];
  const logger = createLogger('silent');
  logger.warn = ((_fields: unknown, message: string) => lines.push(message)) as never;
  logger.info = ((_fields: unknown, message: string) => lines.push(message)) as never;
  const prober = new CdnProber(
    hosts,
    { path: undefined, intervalMs: 60_000, timeoutMs: 100, fall: 2, rise: 2, load: { format: 'nginx-stub-status', path: '/status' } },
    logger,
    (up, byHost) => reports.push({ up: [...up], loads: { ...byHost } }),
    async () => ({ ok: true }),
    undefined,
    async (url) => {
      const load = loads.get(url);
      return typeof load === 'number' ? { ok: true, load } : { ok: false, reason: String(load) };
    },
  );
  await prober.firstRound();
  t.same(reports.at(-1), { up: ['http://a.cdn', 'http://b.cdn'], loads: { 'http://a.cdn': 10, 'http://b.cdn': 20 } }, 'the readings, with the up set');
  loads.set('http://a.cdn/status', 150);
  await prober.round();
  t.same(reports.at(-1)?.up, ['http://b.cdn'], 'over its maxLoad: out of the up set at once');
  t.same(prober.overMax, [true, false]);
  t.ok(lines.some((l) => /^CDN host http:\/\/a\.cdn is over its maxLoad \(150 > 100\)/.test(l)), 'one line when it goes over');
  await prober.round();
  t.equal(lines.filter((l) => l.includes('over its maxLoad')).length, 1, 'and only one');
  loads.set('http://a.cdn/status', 90);
  await prober.round();
  t.same(reports.at(-1)?.up, ['http://a.cdn', 'http://b.cdn'], 'under it again: back');
  t.ok(lines.some((l) => /is under its maxLoad again \(90\)/.test(l)), 'one line when it comes back');
  loads.set('http://b.cdn/status', 'not an nginx stub_status page');
  await prober.round();
  t.same(reports.at(-1)?.up, ['http://a.cdn', 'http://b.cdn'], 'one unreadable page: not yet down (fall 2)');
  t.same(reports.at(-1)?.loads, { 'http://a.cdn': 90 }, 'and no reading for it');
  await prober.round();
  t.same(reports.at(-1)?.up, ['http://a.cdn'], 'two: down, with no health block the load readings alone decide');
  t.ok(lines.some((l) => l === 'CDN host http://b.cdn is down'), 'logged as down');
  t.same(prober.checks[1], { success: 4, failure: 2 }, 'counted as failed checks');
});
