import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { nameProcess, PROCESS_COMM } from '../../src/runtime/process-name.js';
import { processName } from '../helpers/process-name.js';
import { PROJECT_ROOT, ServiceProcess, startService } from '../helpers/service-process.js';

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

t.test("npm start's own command line, relative path and all, leaves room for the whole names", async (t) => {
  const { start } = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts;
  const [node, ...args] = start.split(' ');
  t.equal(node, 'node');
  // As npm runs it: `node` found on PATH (a short argv[0], as the title's room depends on it),
  // from the project's folder, with the project's Node.js first on PATH.
  const child = spawn('node', args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH']}`, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', METRICS_PORT: '0', WORKERS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const service = new ServiceProcess(child);
  t.teardown(() => service.stop());
  await service.waitForLog((l) => l.msg === 'worker listening');
  const worker = service.logs.find((l) => l.msg === 'worker listening')?.pid as number;
  t.same(processName(child.pid as number), { comm: 'video-balancer', cmdline: 'video-balancer: primary' });
  t.same(processName(worker), { comm: 'video-balancer', cmdline: 'video-balancer: worker 1' });
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
