import t from 'tap';
import { HostHealth } from '../../src/cdn-health/host-health.js';

const ok = { ok: true } as const;
const fail = { ok: false, reason: 'ECONNREFUSED' } as const;

t.test('down after fall failures in a row, up after rise successes in a row (HAProxy)', async (t) => {
  const health = new HostHealth(2, 3);
  t.equal(health.up, true, 'up before any check');
  t.equal(health.record(fail), undefined);
  t.equal(health.record(ok), undefined, 'a success breaks the streak');
  t.equal(health.record(fail), undefined);
  t.equal(health.record(fail), 'went down');
  t.equal(health.up, false);
  t.equal(health.record(fail), undefined, 'no second transition while down');
  t.equal(health.record(ok), undefined);
  t.equal(health.record(ok), undefined);
  t.equal(health.record(fail), undefined, 'a failure breaks the rise streak');
  t.equal(health.record(ok), undefined);
  t.equal(health.record(ok), undefined);
  t.equal(health.record(ok), 'came up');
  t.equal(health.up, true);
});

t.test('the first check sets the state at once: a host found down at start-up gets no players', async (t) => {
  const health = new HostHealth(3, 3);
  t.equal(health.first(fail), 'went down');
  t.equal(health.up, false);
  const healthy = new HostHealth(3, 3);
  t.equal(healthy.first(ok), undefined);
  t.equal(healthy.up, true);
});
