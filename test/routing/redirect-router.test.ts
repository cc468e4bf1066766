import t from 'tap';
import { OriginAllowList } from '../../src/routing/origin-allow-list.js';
import { RedirectRouter, singlePool } from '../../src/routing/redirect-router.js';
import { InvalidVideoError } from '../../src/routing/invalid-video-error.js';
import { parseIpAddress } from '../../src/routing/steering/ip-address.js';
import { NetworkTable, parseNetwork } from '../../src/routing/steering/network-table.js';
import type { ZoneTarget } from '../../src/routing/steering/steering.js';
import { Viewer } from '../../src/routing/viewer.js';

const originAllowList = new OriginAllowList(['*.origin-cluster']);
const video = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';

t.test('answers the CDN URL, and the original URL on every 10th call', async (t) => {
  const router = new RedirectRouter({ pools: singlePool([{ baseUrl: 'http://cdn.example.com', weight: 1 }], 'weighted'), originEvery: 10, originAllowList });
  for (let call = 1; call <= 30; call++) {
    const expected = call % 10 === 0 ? video : 'http://cdn.example.com/s1/video/123/xcg2djHckad.m3u8';
    t.equal(router.redirect(video), expected, `call ${call}`);
  }
  t.equal(router.originAnswers, 3);
  t.same([...router.cdnAnswers], [27]);
});

t.test('invalid calls do not use up a slot of the rotation', async (t) => {
  const router = new RedirectRouter({ pools: singlePool([{ baseUrl: 'http://cdn', weight: 1 }], 'weighted'), originEvery: 2, originAllowList });
  t.equal(router.redirect(video), 'http://cdn/s1/video/123/xcg2djHckad.m3u8');
  t.throws(() => router.redirect('ftp://s1.origin-cluster/x'), InvalidVideoError);
  t.throws(() => router.redirect(''), InvalidVideoError);
  t.equal(router.redirect(video), video, 'the second valid call is the origin one');
  t.equal(router.originAnswers + (router.cdnAnswers[0] as number), 2);
});

t.test('builds the CDN URL from the base, the lower-case server name and the path as sent', async (t) => {
  const router = new RedirectRouter({ pools: singlePool([{ baseUrl: 'https://cdn.example.com:8443/edge', weight: 1 }], 'weighted'), originEvery: 0, originAllowList });
  t.equal(
    router.redirect('HTTPS://S7.Origin-Cluster:8080/Video/A%2Fb;p=1/x.m3u8?sig=AbC%3D&e=1#t=5'),
    'https://cdn.example.com:8443/edge/s7/Video/A%2Fb;p=1/x.m3u8?sig=AbC%3D&e=1#t=5',
  );
});

t.test('originEvery 1 answers every call with the URL unchanged', async (t) => {
  const router = new RedirectRouter({ pools: singlePool([{ baseUrl: 'http://cdn', weight: 1 }], 'weighted'), originEvery: 1, originAllowList });
  const odd = 'HTTP://S1.ORIGIN-CLUSTER:81/a;b?c#d';
  t.equal(router.redirect(odd), odd);
});

t.test('replace: the next call uses the new rule whole; the rotation, host counts and up state carry over', async (t) => {
  const a = { baseUrl: 'http://a.cdn', weight: 1 };
  const b = { baseUrl: 'http://b.cdn', weight: 1 };
  const c = { baseUrl: 'http://c.cdn', weight: 1 };
  const router = new RedirectRouter({ pools: singlePool([a, b], 'weighted'), originEvery: 10, originAllowList });
  for (let i = 0; i < 4; i++) router.redirect(video);
  router.setCdnUp(new Set(['http://a.cdn']));
  t.equal(router.redirect(video), 'http://a.cdn/s1/video/123/xcg2djHckad.m3u8', 'b is down');
  const original = router.rule;
  router.replace({ pools: singlePool([c, a], 'weighted'), originEvery: 10, originAllowList });
  t.equal(original.pools[0]?.hosts.length, 2, 'the old rule is not changed');
  t.same([...router.cdnAnswers], [0, 3], "a's count carries over to its new place; c starts at 0");
  const answers = Array.from({ length: 5 }, () => router.redirect(video));
  t.same(answers.slice(0, 4), Array(4).fill('http://a.cdn/s1/video/123/xcg2djHckad.m3u8'), 'c arrived with no health check passed: down, as the up set says');
  t.equal(answers[4], video, 'the 10th call overall still goes to the origin');
  router.setCdnUp(undefined);
  t.match(router.redirect(video), /^http:\/\/[ac]\.cdn\//, 'without health checks every host is up');
});

t.test('replace with another originEvery keeps the calls counted since the last origin answer', async (t) => {
  const router = new RedirectRouter({ pools: singlePool([{ baseUrl: 'http://cdn', weight: 1 }], 'weighted'), originEvery: 10, originAllowList });
  for (let i = 0; i < 6; i++) router.redirect(video);
  router.replace({ pools: singlePool([{ baseUrl: 'http://cdn', weight: 1 }], 'weighted'), originEvery: 7, originAllowList });
  t.equal(router.redirect(video), video, 'six counted before the reload: the seventh call goes to the origin');
});

t.test('pools: the viewer\'s pool answers; with none of its hosts up the default pool does, then the origin', async (t) => {
  const zones = new NetworkTable<ZoneTarget>();
  zones.add(parseNetwork('10.0.0.0/8')!, { zone: 'eu-zone', pool: 1 });
  const router = new RedirectRouter({
    pools: [
      { name: 'default', hosts: [{ baseUrl: 'http://d.cdn', weight: 1 }], policy: 'weighted' },
      { name: 'eu', hosts: [{ baseUrl: 'http://eu.cdn', weight: 1 }], policy: 'weighted' },
    ],
    originEvery: 0,
    originAllowList,
    steering: { trustedProxies: new NetworkTable(), zones, geo: undefined, countries: new Map(), continents: new Map() },
  });
  const inZone = new Viewer(parseIpAddress('10.1.2.3'));
  const elsewhere = new Viewer(parseIpAddress('192.0.2.1'));
  t.equal(router.redirect(video, inZone), 'http://eu.cdn/s1/video/123/xcg2djHckad.m3u8', 'the zone\'s pool');
  t.equal(router.redirect(video, elsewhere), 'http://d.cdn/s1/video/123/xcg2djHckad.m3u8', 'the default pool');
  t.equal(router.redirect(video), 'http://d.cdn/s1/video/123/xcg2djHckad.m3u8', 'no viewer: the default pool');
  t.same([...router.decisions], [1, 0, 0, 2], 'decisions counted by method: zone, country, continent, default');
  t.same(router.hosts.map((h) => h.pool), ['default', 'eu']);
  router.setCdnUp(new Set(['http://d.cdn']));
  t.equal(router.redirect(video, inZone), 'http://d.cdn/s1/video/123/xcg2djHckad.m3u8', 'eu has no host up: the default pool');
  t.equal(router.lastPool, 0, 'and the debug line says so');
  router.setCdnUp(new Set());
  t.equal(router.redirect(video, inZone), video, 'no host up anywhere: the origin');
  const decidedUnder = inZone.decidedUnder;
  router.setCdnUp(undefined);
  router.redirect(video, inZone);
  t.equal(inZone.decidedUnder, decidedUnder, 'a viewer\'s decision is kept while the routing serves');
  router.replace(router.rule);
  router.redirect(video, inZone);
  t.not(inZone.decidedUnder, decidedUnder, 'and made again under a replaced routing');
});
