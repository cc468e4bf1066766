import t from 'tap';
import { RestartBackoff } from '../../src/cluster/restart-backoff.js';

t.test('replaces at once the first time, then doubles the delay up to the cap', async (t) => {
  const backoff = new RestartBackoff(100, 1000, 60_000);
  t.same([0, 1, 2, 3, 4, 5, 6].map((i) => backoff.nextDelay(i * 10)), [0, 100, 200, 400, 800, 1000, 1000]);
});

t.test('forgets deaths older than the window', async (t) => {
  const backoff = new RestartBackoff(100, 10_000, 1000);
  t.equal(backoff.nextDelay(0), 0);
  t.equal(backoff.nextDelay(500), 100);
  t.equal(backoff.nextDelay(1600), 0, 'both earlier deaths left the window');
});

t.test('a cap of 0 replaces every worker at once (RESTART_BACKOFF_MAX_MS=0)', async (t) => {
  const backoff = new RestartBackoff(0, 0);
  t.same([0, 1, 2, 3].map((i) => backoff.nextDelay(i)), [0, 0, 0, 0]);
});
