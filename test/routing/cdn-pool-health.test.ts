import t from 'tap';
import { createCdnSelector, NO_CDN_HOST } from '../../src/routing/cdn-pool.js';
import { VideoUrlParts } from '../../src/routing/video-url.js';

const hosts = (...weights: number[]) => weights.map((weight, i) => ({ baseUrl: `http://cdn-${i}.test`, weight }));
const picks = (selector: ReturnType<typeof createCdnSelector>, n: number) => Array.from({ length: n }, () => selector.pick('', new VideoUrlParts()));
const counts = (values: number[]) => values.reduce<Record<number, number>>((c, v) => ({ ...c, [v]: (c[v] ?? 0) + 1 }), {});

t.test('weighted: a down host is skipped and the others keep their proportions', async (t) => {
  const selector = createCdnSelector(hosts(3, 2, 1), 'weighted');
  selector.setUp([true, false, true]);
  t.same(counts(picks(selector, 400)), { 0: 300, 2: 100 }, '3:1 between the two that are up');
  selector.setUp([true, true, true]);
  t.same(counts(picks(selector, 600)), { 0: 300, 1: 200, 2: 100 }, 'back to 3:2:1');
});

t.test('no host up: NO_CDN_HOST, for one host and for pools of either policy', async (t) => {
  for (const [pool, policy] of [[hosts(1), 'weighted'], [hosts(1, 1), 'weighted'], [hosts(1, 1), 'hash']] as const) {
    const selector = createCdnSelector(pool, policy);
    selector.setUp(pool.map(() => false));
    t.equal(selector.pick('', new VideoUrlParts()), NO_CDN_HOST, `${pool.length} host(s), ${policy}`);
    selector.setUp(pool.map(() => true));
    t.not(selector.pick('', new VideoUrlParts()), NO_CDN_HOST, 'and a host again once one is up');
  }
});
