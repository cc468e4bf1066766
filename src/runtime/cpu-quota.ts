import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';

/** Reads a file's text, or undefined when it cannot be read. */
export type ReadFile = (path: string) => string | undefined;

/** The CPU time a cgroup may use: `quotaUs` every `periodUs`, from the file that says so. */
export interface CpuQuota {
  readonly cpus: number;
  readonly file: string;
}

/** How many workers to start, and where the number came from (for the start-up log). */
export interface WorkerCount {
  readonly workers: number;
  readonly from: string;
}

const readOrUndefined: ReadFile = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The default of WORKERS: a container's CPU limit, not the node's cores. `os.availableParallelism()`
 * counts the CPUs the process may run on (its cpuset), which in a pod with a CPU limit is still
 * every core of the node: 16 workers on a 16-core node with a 2-CPU limit would share 2 CPUs of
 * time and be throttled. The quota is rounded up (1.5 CPUs: 2 workers, so the limit is used), at
 * most the available cores, at least 1.
 */
export function defaultWorkerCount(read: ReadFile = readOrUndefined, cores: number = availableParallelism()): WorkerCount {
  const quota = cgroupCpuQuota(read);
  if (quota === undefined) return { workers: cores, from: `available cores (${cores}); no cgroup CPU quota` };
  const workers = Math.max(1, Math.min(cores, Math.ceil(quota.cpus - 1e-9)));
  return { workers, from: `cgroup CPU quota ${round(quota.cpus)} CPUs (${quota.file}), ${cores} cores available` };
}

/**
 * The smallest CPU quota on this process's cgroup and its ancestors (a limit on a parent binds
 * the children too): cgroup v2's `cpu.max`, else v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us`.
 * Undefined when no quota is set or cgroups cannot be read (not Linux).
 */
export function cgroupCpuQuota(read: ReadFile = readOrUndefined): CpuQuota | undefined {
  const mounts = parseMountInfo(read('/proc/self/mountinfo') ?? '');
  const memberships = parseCgroupMemberships(read('/proc/self/cgroup') ?? '');
  const v2Mount = mounts.find((m) => m.fsType === 'cgroup2');
  const v2Path = memberships.find((m) => m.hierarchy === '0')?.path;
  if (v2Mount && v2Path !== undefined) {
    const quota = smallestQuota(v2Mount, v2Path, (folder) => {
      const max = read(join(folder, 'cpu.max'))?.trim().split(/\s+/);
      if (!max || max[0] === 'max') return undefined;
      return perPeriod(Number(max[0]), Number(max[1] ?? 100_000), join(folder, 'cpu.max'));
    });
    if (quota) return quota;
  }
  const v1Mount = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('cpu'));
  const v1Path = memberships.find((m) => m.controllers.includes('cpu'))?.path;
  if (!v1Mount || v1Path === undefined) return undefined;
  return smallestQuota(v1Mount, v1Path, (folder) => {
    const quota = Number(read(join(folder, 'cpu.cfs_quota_us'))?.trim());
    const period = Number(read(join(folder, 'cpu.cfs_period_us'))?.trim());
    return perPeriod(quota, period, join(folder, 'cpu.cfs_quota_us'));
  });
}

interface Mount {
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: readonly string[];
}

/** `/proc/self/mountinfo`: `id parent major:minor root mount-point options [optional...] - type source super-options`. */
function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    if (after === undefined) continue;
    const fields = (before as string).split(' ');
    const [fsType, , superOptions] = after.split(' ');
    if (fields[3] === undefined || fields[4] === undefined || fsType === undefined) continue;
    mounts.push({ root: unescapeMountField(fields[3]), mountPoint: unescapeMountField(fields[4]), fsType, superOptions: (superOptions ?? '').split(',') });
  }
  return mounts;
}

/** mountinfo writes a space in a path as \040, and so on. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** `/proc/self/cgroup`: `hierarchy-id:controllers:path`, `0::path` for v2. */
function parseCgroupMemberships(text: string): Array<{ hierarchy: string; controllers: string[]; path: string }> {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [hierarchy = '', controllers = '', ...path] = line.split(':');
      return { hierarchy, controllers: controllers.split(','), path: path.join(':') };
    });
}

/** Walks from the process's cgroup folder up to the mount point, keeping the smallest quota. */
function smallestQuota(mount: Mount, cgroupPath: string, quotaOf: (folder: string) => CpuQuota | undefined): CpuQuota | undefined {
  // Inside a container the cgroup namespace makes the path '/', and the mount's root is the cgroup itself.
  const below = relative(mount.root, cgroupPath);
  if (below.startsWith('..')) return undefined;
  let folder = join(mount.mountPoint, below);
  let smallest: CpuQuota | undefined;
  for (;;) {
    const quota = quotaOf(folder);
    if (quota && (smallest === undefined || quota.cpus < smallest.cpus)) smallest = quota;
    if (folder === mount.mountPoint || folder === '/' || folder === '.') return smallest;
    folder = dirname(folder);
  }
}

function perPeriod(quotaUs: number, periodUs: number, file: string): CpuQuota | undefined {
  // v1 writes -1 for no quota.
  if (!(quotaUs > 0) || !(periodUs > 0)) return undefined;
  return { cpus: quotaUs / periodUs, file };
}

function round(cpus: number): string {
  return String(Math.round(cpus * 100) / 100);
}
