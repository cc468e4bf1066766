import { execFileSync } from 'node:child_process';
import t from 'tap';
import { nameProcess, PROCESS_COMM } from '../../src/runtime/process-name.js';
import { processName } from '../helpers/process-name.js';
import { startService } from '../helpers/service-process.js';

t.test('the primary and each worker carry names ps, top and pgrep show', async (t) => {
  const service = await startService({ WORKERS: '2' });
  t.teardown(() => service.stop());
  const primary = service.child.pid as number;
  const workers = service.logs.filter((l) => l.msg === 'worker listening').map((l) => ({ pid: l.pid as number, id: l['worker'] }));
  t.equal(workers.length, 2);
  t.same(processName(primary), { comm: 'video-balancer', cmdline: 'video-balancer: primary' });
  for (const worker of workers) {
    t.same(processName(worker.pid), { comm: 'video-balancer', cmdline: `video-balancer: worker ${worker.id}` });
  }
  const found = execFileSync('pgrep', ['-x', PROCESS_COMM], { encoding: 'utf8' }).trim().split('\n').map(Number);
  for (const pid of [primary, ...workers.map((w) => w.pid)]) t.ok(found.includes(pid), `pgrep -x video-balancer finds ${pid}`);
});

t.test('where /proc/self/comm cannot be written, the title still names the process', async (t) => {
  const title = process.title;
  t.teardown(() => {
    process.title = title;
  });
  nameProcess('test', () => {
    throw new Error('ENOENT');
  });
  t.equal(process.title, 'video-balancer: test');
});
