import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cgroupCpuQuota, defaultWorkerCount } from '../../src/runtime/cpu-quota.js';
import { PROJECT_ROOT } from '../helpers/service-process.js';

const V2_MOUNT = '30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';
const V1_MOUNTS =
  '31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n' + '32 25 0:28 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n';
const files = (map: Record<string, string>) => (path: string) => map[path];

t.test('cgroup v2 in a container (namespaced, path /): cpu.max gives the quota', async (t) => {
  const read = files({ '/proc/self/mountinfo': V2_MOUNT, '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000\n' });
  t.same(cgroupCpuQuota(read), { cpus: 1.5, file: '/sys/fs/cgroup/cpu.max' });
  t.equal(defaultWorkerCount(read, 16).workers, 2, '1.5 CPUs round up to 2 workers');
  t.match(defaultWorkerCount(read, 16).from, /cgroup CPU quota 1\.5 CPUs \(\/sys\/fs\/cgroup\/cpu\.max\)/, 'the start log says where the number came from');
});

t.test('cgroup v2 on a host: the smallest quota of the cgroup and its ancestors binds', async (t) => {
  const read = files({
    '/proc/self/mountinfo': V2_MOUNT,
    '/proc/self/cgroup': '0::/kubepods/pod1/container\n',
    '/sys/fs/cgroup/kubepods/pod1/container/cpu.max': 'max 100000\n',
    '/sys/fs/cgroup/kubepods/pod1/cpu.max': '50000 100000\n',
    '/sys/fs/cgroup/kubepods/cpu.max': '400000 100000\n',
  });
  t.same(cgroupCpuQuota(read), { cpus: 0.5, file: '/sys/fs/cgroup/kubepods/pod1/cpu.max' });
  t.equal(defaultWorkerCount(read, 8).workers, 1, 'half a CPU: one worker, never zero');
});

t.test('cgroup v1: cpu.cfs_quota_us over cpu.cfs_period_us, -1 is no quota', async (t) => {
  const cgroup = '4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n';
  const read = files({
    '/proc/self/mountinfo': V1_MOUNTS,
    '/proc/self/cgroup': cgroup,
    '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '300000\n',
    '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
    '/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us': '-1\n',
    '/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us': '100000\n',
  });
  t.same(cgroupCpuQuota(read), { cpus: 3, file: '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us' });
  t.equal(defaultWorkerCount(read, 2).workers, 2, 'never more than the available cores');
});

t.test('no quota, or no cgroups at all: the available cores', async (t) => {
  const unlimited = files({ '/proc/self/mountinfo': V2_MOUNT, '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' });
  t.equal(cgroupCpuQuota(unlimited), undefined);
  t.same(defaultWorkerCount(unlimited, 6), { workers: 6, from: 'available cores (6); no cgroup CPU quota' });
  t.equal(cgroupCpuQuota(() => undefined), undefined, 'nothing readable (not Linux)');
  t.equal(cgroupCpuQuota(files({ '/proc/self/mountinfo': 'garbage\n', '/proc/self/cgroup': 'x\n' })), undefined, 'unparsable files');
});

/**
 * The real thing: the service started inside a cgroup of this machine with half a CPU of quota
 * starts one worker where the machine's cores would give more. Needs root and a writable cpu
 * controller (v1 or v2); otherwise a visible skip.
 */
const cgroup = makeCgroup();
t.test('npm start inside a cgroup with a 1-CPU quota starts 1 worker and says why', { skip: cgroup.skip ?? (availableParallelism() < 2 && 'one core: a quota cannot make fewer workers') }, async (t) => {
  const { folder, procs } = cgroup as { folder: string; procs: string };
  // A shell that joins the cgroup, then runs the service: its children stay in it.
  const child = spawn('sh', ['-c', `echo $$ > ${procs} && exec "$0" dist/src/main.js`, process.execPath], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env['PATH'], GRPC_PORT: '0', METRICS_PORT: '0', GRPC_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // A cgroup can be removed only once its processes are gone.
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited;
    for (let tries = 0; ; tries++) {
      try {
        rmdirSync(folder);
        return;
      } catch (error) {
        if (tries === 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
  // The start line, once the worker listens (a drain during start-up waits for the start).
  const start = await new Promise<Record<string, any>>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => l.includes('"starting video-balancer"'));
      if (line && text.includes('"worker listening"')) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${text}`)));
  });
  t.equal(start.config.workers, 1, `1 worker on a ${availableParallelism()}-core machine`);
  t.match(start.config.workersFrom, /^cgroup CPU quota 1 CPUs/, `the start line says why: ${start.config.workersFrom}`);
  child.kill('SIGTERM');
  await exited;
});

function makeCgroup(): { folder?: string; procs?: string; skip?: string } {
  const name = `video-balancer-test-${process.pid}`;
  for (const { root, write } of [
    { root: '/sys/fs/cgroup', write: (folder: string) => writeFileSync(join(folder, 'cpu.max'), '100000 100000') },
    { root: '/sys/fs/cgroup/cpu', write: (folder: string) => writeFileSync(join(folder, 'cpu.cfs_quota_us'), '100000') },
  ]) {
    const folder = join(root, name);
    try {
      mkdirSync(folder);
    } catch {
      continue;
    }
    try {
      // A real cgroup gets its files from the kernel; a folder on a plain file system does not.
      if (!existsSync(join(folder, 'cgroup.procs'))) throw new Error('not a cgroup');
      write(folder);
      return { folder, procs: join(folder, 'cgroup.procs') };
    } catch {
      rmdirSync(folder);
    }
  }
  return { skip: 'cannot make a cgroup with a CPU quota here (needs root and a writable cpu controller)' };
}
