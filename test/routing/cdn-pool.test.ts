import t from 'tap';
import { createCdnSelector, RendezvousHashSelector, SmoothWeightedSelector, type CdnHost } from '../../src/routing/cdn-pool.js';
import { OriginAllowList } from '../../src/routing/origin-allow-list.js';
import { parseVideoUrl, VideoUrlParts } from '../../src/routing/video-url.js';

const allowList = new OriginAllowList(['*.origin-cluster']);
const hosts = (...weights: number[]): CdnHost[] => weights.map((weight, i) => ({ baseUrl: `http://cdn-${i}.example.com`, weight }));

/** Picks for `video` with a selector, parsing it as the router does. */
function pickFor(selector: { pick(video: string, parts: VideoUrlParts): number }, video: string): number {
  const parts = new VideoUrlParts();
  parseVideoUrl(video, allowList, parts);
  return selector.pick(video, parts);
}

t.test('weighted: the nginx sequence, and exact shares in every window of sum-of-weights picks', async (t) => {
  const selector = new SmoothWeightedSelector(hosts(5, 1, 1));
  const sequence = Array.from({ length: 7 }, () => selector.pick());
  t.same(sequence, [0, 0, 1, 0, 2, 0, 0], 'a a b a c a a');
  const weights = [3, 2, 1];
  const weighted = new SmoothWeightedSelector(hosts(...weights));
  const picks = Array.from({ length: 6 * 1000 }, () => weighted.pick());
  for (let start = 0; start + 6 <= picks.length; start += 6) {
    const counts = [0, 0, 0];
    for (const pick of picks.slice(start, start + 6)) counts[pick]!++;
    if (counts.join() !== weights.join()) return t.fail(`window at ${start}: ${counts.join()}`);
  }
  t.pass('every one of 1000 consecutive windows of 6 picks is exactly 3:2:1');
});

t.test('a single host is always chosen, whatever the policy', async (t) => {
  for (const policy of ['weighted', 'hash'] as const) {
    const selector = createCdnSelector(hosts(7), policy);
    t.equal(pickFor(selector, 'http://s1.origin-cluster/a.ts'), 0, policy);
  }
  t.throws(() => createCdnSelector([], 'weighted'), RangeError);
});

t.test('hash: the same video always goes to the same host; query, fragment and case do not matter', async (t) => {
  const selector = createCdnSelector(hosts(1, 1, 1, 1), 'hash');
  const video = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
  const host = pickFor(selector, video);
  for (let i = 0; i < 100; i++) t.equal(pickFor(selector, video), host);
  t.equal(pickFor(selector, `${video}?token=abc&exp=${Date.now()}`), host, 'the query string is not part of the key');
  t.equal(pickFor(selector, `${video}#t=10`), host, 'the fragment is not part of the key');
  t.equal(pickFor(selector, 'HTTPS://S1.Origin-Cluster:8080/video/123/xcg2djHckad.m3u8'), host, 'scheme, port and host case do not matter');
  const other = new RendezvousHashSelector(hosts(1, 1, 1, 1));
  t.equal(pickFor(other, video), host, 'a second selector over the same hosts agrees (no hidden state)');
});

t.test('hash: over 100,000 distinct paths the shares are within 2% of the weights (as docs/cdn.md says)', async (t) => {
  const weights = [3, 2, 1, 1];
  const selector = createCdnSelector(hosts(...weights), 'hash');
  const counts = [0, 0, 0, 0];
  const n = 100_000;
  for (let i = 0; i < n; i++) counts[pickFor(selector, `http://s${i % 50}.origin-cluster/video/${i}/seg-${i * 7}.ts`)]!++;
  const total = weights.reduce((a, b) => a + b, 0);
  weights.forEach((weight, i) => {
    const expected = (n * weight) / total;
    const deviation = Math.abs((counts[i] as number) - expected) / expected;
    t.ok(deviation < 0.02, `host ${i} (weight ${weight}): ${counts[i]} of ${n}, ${(100 * deviation).toFixed(2)}% from ${expected.toFixed(0)}`);
  });
});

t.test('hash: removing one of 4 hosts moves only its own videos, about a quarter', async (t) => {
  const before = createCdnSelector(hosts(1, 1, 1, 1), 'hash');
  const remaining = hosts(1, 1, 1, 1).filter((_, i) => i !== 2);
  const after = createCdnSelector(remaining, 'hash');
  const n = 100_000;
  let moved = 0;
  let movedFromOthers = 0;
  for (let i = 0; i < n; i++) {
    const video = `http://s${i % 13}.origin-cluster/v/${i}.m3u8`;
    const was = before ? pickFor(before, video) : -1;
    const now = remaining[pickFor(after, video)]?.baseUrl;
    if (now !== hosts(1, 1, 1, 1)[was]?.baseUrl) {
      moved++;
      if (was !== 2) movedFromOthers++;
    }
  }
  t.comment(`moved ${moved} of ${n} videos (${((100 * moved) / n).toFixed(2)}%) when 1 of 4 hosts was removed`);
  t.equal(movedFromOthers, 0, 'no video on a remaining host moved');
  t.ok(moved / n > 0.23 && moved / n < 0.27, 'about 1/4 moved');
});
