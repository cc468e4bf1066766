import t from 'tap';
import { findFreePort } from '../../src/cluster/free-port.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { startService } from '../helpers/service-process.js';

const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';

t.test('CDN_HOSTS weighted: exact shares over one connection, and metrics by cdn_host', async (t) => {
  const metricsPort = await findFreePort('127.0.0.1');
  const service = await startService({
    WORKERS: '1',
    CDN_HOSTS: 'cdn-a.test=3,cdn-b.test:8080=1',
    ORIGIN_EVERY: '10',
    METRICS_PORT: String(metricsPort),
    METRICS_HOST: '127.0.0.1',
  });
  t.teardown(() => service.stop());
  const client = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => client.close());
  const counts = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    const answer = (await client.redirect(VIDEO)).redirect ?? 'failed';
    const host = answer === VIDEO ? 'origin' : new URL(answer).host;
    counts.set(host, (counts.get(host) ?? 0) + 1);
    if (answer !== VIDEO) t.equal(new URL(answer).pathname, '/s1/video/123/xcg2djHckad.m3u8');
  }
  // 4 origin answers, then 36 CDN answers: 9 windows of 4 at exactly 3:1.
  t.same(Object.fromEntries(counts), { origin: 4, 'cdn-a.test': 27, 'cdn-b.test:8080': 9 });
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.match(text, 'balancer_redirects_total{target="origin"} 4');
  t.match(text, 'balancer_redirects_total{target="cdn",cdn_host="cdn-a.test",pool="default"} 27');
  t.match(text, 'balancer_redirects_total{target="cdn",cdn_host="cdn-b.test:8080",pool="default"} 9');
});

t.test('CDN_POLICY=hash: every worker sends the same video to the same host', async (t) => {
  const service = await startService({ WORKERS: '2', CDN_HOSTS: 'cdn-a.test,cdn-b.test,cdn-c.test', CDN_POLICY: 'hash', ORIGIN_EVERY: '0' });
  t.teardown(() => service.stop());
  const clients = Array.from({ length: 6 }, () => new RedirectClient(service.port, { ownConnection: true }));
  t.teardown(() => clients.forEach((c) => c.close()));
  const videos = Array.from({ length: 30 }, (_, i) => `http://s${i % 3}.origin-cluster/v/${i}.ts`);
  const hostsByVideo = new Map<string, Set<string>>();
  for (const client of clients) {
    for (const video of videos) {
      const answer = (await client.redirect(`${video}?token=${Math.random()}`)).redirect ?? 'failed';
      const set = hostsByVideo.get(video) ?? new Set();
      set.add(new URL(answer).host);
      hostsByVideo.set(video, set);
    }
  }
  t.ok([...hostsByVideo.values()].every((set) => set.size === 1), 'one host per video, across connections and workers');
  t.equal(new Set([...hostsByVideo.values()].map((set) => [...set][0])).size, 3, 'all three hosts are used');
});
