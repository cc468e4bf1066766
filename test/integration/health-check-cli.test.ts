import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { findFreePort } from '../../src/cluster/free-port.js';
import { HealthClient } from '../helpers/health-client.js';
import { HEALTH_CHECK_PATH, startService } from '../helpers/service-process.js';

const run = (target: string) =>
  promisify(execFile)(process.execPath, [HEALTH_CHECK_PATH, target]).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );

t.test('the container health check: exit 0 when SERVING, 1 otherwise', async (t) => {
  const service = await startService({ WORKERS: '1', SHUTDOWN_TIMEOUT_MS: '3000' });
  t.teardown(() => service.stop());
  t.same(await run(`127.0.0.1:${service.port}`), { code: 0, stdout: 'SERVING\n' });

  // A Watch stream keeps the worker draining for SHUTDOWN_TIMEOUT_MS; meanwhile the check,
  // which opens a connection of its own, is refused.
  const watcher = new HealthClient(service.port);
  t.teardown(() => watcher.close());
  const watch = watcher.stub.Watch({ service: '' });
  watch.on('error', () => undefined);
  await new Promise((resolve) => watch.once('data', resolve));
  service.child.kill('SIGTERM');
  await service.waitForLog((l) => l.msg === 'worker draining');
  const draining = await run(`127.0.0.1:${service.port}`);
  t.equal(draining.code, 1, 'exit 1 while the service drains');
  t.match(draining.stdout, /^unhealthy: /);

  const closed = await run(`127.0.0.1:${await findFreePort('127.0.0.1')}`);
  t.equal(closed.code, 1, 'exit 1 when nothing listens');
  t.match(closed.stdout, /^unhealthy: .*ECONNREFUSED/);
});
