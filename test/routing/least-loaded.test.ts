import t from 'tap';
import { LeastLoadedSelector, NO_CDN_HOST, type CdnHost } from '../../src/routing/cdn-pool.js';

const hosts = (...weights: number[]): CdnHost[] => weights.map((weight, i) => ({ baseUrl: `http://cdn-${i}.test`, weight }));
/** A seeded generator, so that a failure can be reproduced. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}
const shares = (selector: LeastLoadedSelector, calls: number, count: number) => {
  const picks = new Array<number>(count).fill(0);
  for (let i = 0; i < calls; i++) {
    const host = selector.pick();
    picks[host] = (picks[host] as number) + 1;
  }
  return picks;
};

t.test('equal loads: the shares follow the weights, within 30% over 200 calls', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const selector = new LeastLoadedSelector(hosts(3, 2, 1), seeded(seed));
    selector.setLoads([30, 20, 10]);
    const picks = shares(selector, 200, 3);
    [3, 2, 1].forEach((weight, i) => {
      const expected = (200 * weight) / 6;
      t.ok(Math.abs((picks[i] as number) - expected) <= 0.3 * expected, `seed ${seed}, weight ${weight}: ${picks[i]} of 200 (expected ${expected.toFixed(0)})`);
    });
  }
});

t.test('a host with 100 times the load per weight gets under 5% of the new viewers', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const selector = new LeastLoadedSelector(hosts(1, 1, 1, 2), seeded(seed));
    // Per weight: 1,000 against 10.
    selector.setLoads([1000, 10, 10, 20]);
    const picks = shares(selector, 200, 4);
    t.ok((picks[0] as number) < 10, `seed ${seed}: ${picks[0]} of 200 to the loaded host`);
  }
});

t.test('the herd: workers that cannot see each other spread over the lightly loaded hosts between two readings', async (t) => {
  // Eight workers (or processes) got the same reading: host 0 reads a little lower than the others.
  const loads = [40, 44, 44, 44];
  const workers = Array.from({ length: 8 }, (_, w) => {
    const selector = new LeastLoadedSelector(hosts(1, 1, 1, 1), seeded(100 + w));
    selector.setLoads(loads);
    return selector;
  });
  // Each sends its next 10 viewers before the next reading.
  const picks = [0, 0, 0, 0];
  for (let round = 0; round < 10; round++) {
    for (const worker of workers) {
      const host = worker.pick();
      picks[host] = (picks[host] as number) + 1;
    }
  }
  t.comment(`80 new viewers over 4 hosts reading ${loads.join(', ')}: ${picks.join(', ')}`);
  t.ok((picks[0] as number) < 60, `the lowest-reading host did not take them all (${picks[0]} of 80; always-the-least would be 80)`);
  t.ok(picks.every((n) => n > 0), 'every host got some');
  const loadsAfter = loads.map((load, i) => load + (picks[i] as number));
  t.ok(Math.max(...loadsAfter) - Math.min(...loadsAfter) <= 20, `and the loads they leave are close: ${loadsAfter.join(', ')}`);
});

t.test('hosts that are down are never drawn; none up: no host', async (t) => {
  const selector = new LeastLoadedSelector(hosts(1, 1, 1), seeded(9));
  selector.setLoads([0, 100, 100]);
  selector.setUp([false, true, true]);
  t.equal(shares(selector, 100, 3)[0], 0);
  selector.setUp([false, false, true]);
  t.same(shares(selector, 10, 3), [0, 0, 10], 'one host up: it');
  selector.setUp([false, false, false]);
  t.equal(selector.pick(), NO_CDN_HOST);
});
