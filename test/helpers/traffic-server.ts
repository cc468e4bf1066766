import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's Apache Traffic Server (`apt-get install trafficserver`). */
export const TRAFFIC_SERVER = '/usr/bin/traffic_server';
const SYSTEM_CONFIG = '/etc/trafficserver';

export function trafficServerAvailable(): boolean {
  return spawnSync(TRAFFIC_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * A real Apache Traffic Server playing a CDN host on a loopback port, in a run root of its own
 * (configuration, cache, logs and runtime files under a temporary folder, nothing of the system's
 * touched), with the stats_over_http plugin at `/_stats`.
 */
export class TrafficServer {
  readonly root = mkdtempSync(join(tmpdir(), 'vb-ats-'));
  private process: ChildProcess | undefined;

  constructor(readonly port: number) {
    const dir = (name: string) => join(this.root, name);
    for (const name of ['run', 'log', 'cache', 'var']) mkdirSync(dir(name));
    cpSync(SYSTEM_CONFIG, dir('etc'), { recursive: true });
    writeFileSync(
      dir('runroot.yaml'),
      [
        'prefix: /usr', 'exec_prefix: /usr', 'bindir: /usr/bin', 'sbindir: /usr/sbin', `sysconfdir: ${dir('etc')}`, `datadir: ${dir('cache')}`,
        'includedir: /usr/include', 'libdir: /usr/lib/trafficserver', 'libexecdir: /usr/lib/trafficserver/modules', `localstatedir: ${dir('var')}`,
        `runtimedir: ${dir('run')}`, `logdir: ${dir('log')}`, `cachedir: ${dir('cache')}`, '',
      ].join('\n'),
    );
    const records = readFileSync(join(dir('etc'), 'records.config'), 'utf8')
      .replace(/^CONFIG proxy\.config\.http\.server_ports STRING .*$/m, `CONFIG proxy.config.http.server_ports STRING ${port}`)
      // Run as whoever starts it (the tests may run as root, or not).
      .replace(/^CONFIG proxy\.config\.admin\.user_id STRING .*$/m, 'CONFIG proxy.config.admin.user_id STRING #-1');
    writeFileSync(join(dir('etc'), 'records.config'), records);
    writeFileSync(join(dir('etc'), 'storage.config'), `${dir('cache')} 32M\n`);
    writeFileSync(join(dir('etc'), 'plugin.config'), 'stats_over_http.so _stats\n');
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts it and waits until `/_stats` answers (a few seconds). */
  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(TRAFFIC_SERVER, [`--run-root=${join(this.root, 'runroot.yaml')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    this.process = child;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await fetch(`${this.baseUrl}/_stats`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`traffic_server did not serve /_stats on ${this.port}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async remove(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
