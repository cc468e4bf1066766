import t from 'tap';
import { findFreePort } from '../../src/cluster/free-port.js';
import { BAD_VIDEOS } from '../helpers/bad-videos.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { startService } from '../helpers/service-process.js';

const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8?token=a%2Fb&x=1';
const CDN = 'http://cdn.test/s1/video/123/xcg2djHckad.m3u8?token=a%2Fb&x=1';

const httpPort = await findFreePort('127.0.0.1');
const service = await startService({ WORKERS: '1', HTTP_PORT: String(httpPort), CDN_HOST: 'cdn.test' });
t.teardown(() => service.stop());
const base = `http://127.0.0.1:${httpPort}`;
const get = (video: string, init: RequestInit = {}) =>
  fetch(`${base}/redirect?video=${encodeURIComponent(video)}`, { redirect: 'manual', ...init });

t.test('GET /redirect answers 302 with the same Location a gRPC call would get, sharing the counter', async (t) => {
  const grpc = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => grpc.close());
  const answers: string[] = [];
  for (let call = 1; call <= 20; call++) {
    if (call % 2 === 0) {
      answers.push((await grpc.redirect(VIDEO)).redirect ?? 'failed');
    } else {
      const response = await get(VIDEO);
      t.equal(response.status, 302, `HTTP call ${call}: 302`);
      t.equal(response.headers.get('cache-control'), 'no-store');
      answers.push(response.headers.get('location') ?? 'none');
    }
  }
  const expected = Array.from({ length: 20 }, (_, i) => ((i + 1) % 10 === 0 ? VIDEO : CDN));
  t.same(answers, expected, 'calls 10 and 20 of HTTP and gRPC together went to the origin');
});

t.test('the bad-input table gets 400 with a short plain-text reason, over HTTP too', async (t) => {
  for (const [name, video, details] of BAD_VIDEOS) {
    const response = await get(video);
    const body = await response.text();
    t.equal(response.status, 400, `${name}: 400`);
    t.ok(body.includes(details), `${name}: ${JSON.stringify(body.trim().slice(0, 80))}`);
    t.notOk(response.headers.has('location'), `${name}: no Location`);
  }
  const response = await get(VIDEO);
  t.equal(response.status, 302, 'still serving, and rejected calls did not use a slot');
  t.equal(response.headers.get('location'), CDN);
});

t.test('missing or repeated video, other methods and paths', async (t) => {
  const missing = await fetch(`${base}/redirect`, { redirect: 'manual' });
  t.equal(missing.status, 400);
  t.match(await missing.text(), 'video: is required');
  const twice = await fetch(`${base}/redirect?video=a&video=b`, { redirect: 'manual' });
  t.equal(twice.status, 400);
  t.match(await twice.text(), 'video: is given more than once');
  const post = await get(VIDEO, { method: 'POST' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD, OPTIONS');
  t.equal((await fetch(`${base}/`, { redirect: 'manual' })).status, 404);
  t.equal((await fetch(`${base}/redirect/x?video=${encodeURIComponent(VIDEO)}`, { redirect: 'manual' })).status, 404);
});

t.test('a Location never carries CR/LF, even when the caller percent-encodes them into the URL', async (t) => {
  const raw = await fetch(`${base}/redirect?video=http%3A%2F%2Fs1.origin-cluster%2Fa%0D%0ASet-Cookie%3A%20x%3Dy`, { redirect: 'manual' });
  t.equal(raw.status, 400, 'a decoded CR LF is refused');
  t.notOk(raw.headers.has('set-cookie'), 'no header was injected');
  const encoded = await get('http://s1.origin-cluster/a%0D%0Ab.ts');
  t.equal(encoded.status, 302, 'CR LF that stay percent-encoded in the path are carried as sent');
  t.equal(encoded.headers.get('location'), 'http://cdn.test/s1/a%0D%0Ab.ts');
});
