import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { MAX_BELIEVED_LOAD, parseLoad, readCacheLoad } from '../../src/cdn-health/cache-load.js';
import { findFreePort } from '../../src/cluster/free-port.js';

const STUB_STATUS = 'Active connections: 291 \nserver accepts handled requests\n 16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n';
const ATS = JSON.stringify({ global: { 'proxy.process.http.current_client_connections': '12', 'proxy.process.http.completed_requests': '1234' } });

t.test('parses nginx stub_status and Traffic Server stats_over_http', async (t) => {
  t.same(parseLoad(STUB_STATUS, 'nginx-stub-status'), { ok: true, load: 291 });
  t.same(parseLoad(ATS, 'ats-stats-over-http'), { ok: true, load: 12 });
  t.same(parseLoad(JSON.stringify({ global: { 'proxy.process.http.current_client_connections': 7 } }), 'ats-stats-over-http'), { ok: true, load: 7 }, 'a number as well as a string');
});

t.test('a page that lies or is not its format is unreadable, never a load', async (t) => {
  const bad: Array<[string, 'nginx-stub-status' | 'ats-stats-over-http', RegExp]> = [
    ['Active connections: -5 \n', 'nginx-stub-status', /not a whole number/],
    ['Active connections: NaN \n', 'nginx-stub-status', /not a whole number/],
    [`Active connections: ${2 ** 60} \n`, 'nginx-stub-status', /not a whole number from 0 to/],
    ['Active connections: 1.5 \n', 'nginx-stub-status', /not a whole number/],
    ['<html>It works!</html>', 'nginx-stub-status', /not an nginx stub_status page/],
    [ATS, 'nginx-stub-status', /not an nginx stub_status page/],
    [STUB_STATUS, 'ats-stats-over-http', /not JSON/],
    ['{"global": {}}', 'ats-stats-over-http', /no global\."proxy\.process\.http\.current_client_connections"/],
    ['{"global": {"proxy.process.http.current_client_connections": "-1"}}', 'ats-stats-over-http', /not a whole number/],
    [`{"global": {"proxy.process.http.current_client_connections": ${MAX_BELIEVED_LOAD + 1}}}`, 'ats-stats-over-http', /not a whole number from 0 to/],
    ['null', 'ats-stats-over-http', /no global/],
  ];
  for (const [text, format, reason] of bad) t.match(parseLoad(text, format), { ok: false, reason }, `${format}: ${text.slice(0, 40)}`);
});

/** A real HTTP server answering each request as `handle` says. */
async function serve(t: Test, handle: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`;
}

t.test('reading a status page over HTTP is bounded in bytes and time, and follows no redirect', async (t) => {
  const ok = await serve(t, (_req, res) => res.end(STUB_STATUS));
  t.same(await readCacheLoad(ok, 'nginx-stub-status', 1000), { ok: true, load: 291 });
  const huge = await serve(t, (_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    for (let i = 0; i < 160; i++) res.write(chunk);
    res.end();
  });
  const started = performance.now();
  t.match(await readCacheLoad(huge, 'nginx-stub-status', 2000), { ok: false, reason: /larger than 1048576 bytes/ }, 'a 10 MB body is cut off at 1 MiB');
  const dribble = await serve(t, (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('A'), 50);
    res.on('close', () => clearInterval(timer));
  });
  const dribbleStarted = performance.now();
  t.match(await readCacheLoad(dribble, 'nginx-stub-status', 300), { ok: false, reason: /no whole answer within 300 ms/ }, 'a body that dribbles is cut off at the timeout');
  t.ok(performance.now() - dribbleStarted < 1500, 'promptly');
  const redirect = await serve(t, (_req, res) => res.writeHead(302, { location: ok }).end());
  t.match(await readCacheLoad(redirect, 'nginx-stub-status', 1000), { ok: false, reason: 'HTTP 302' }, 'a redirect is not followed');
  const error = await serve(t, (_req, res) => res.writeHead(503).end(STUB_STATUS));
  t.match(await readCacheLoad(error, 'nginx-stub-status', 1000), { ok: false, reason: 'HTTP 503' });
  t.match(await readCacheLoad(`http://127.0.0.1:${await findFreePort('127.0.0.1')}/status`, 'nginx-stub-status', 1000), { ok: false, reason: /ECONNREFUSED/ });
  t.ok(performance.now() - started < 5000, 'none of it stalls the reader');
});
