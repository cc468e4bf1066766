import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's nginx binary. */
export const NGINX = '/usr/sbin/nginx';

/** Whether nginx is installed here (CI installs it; see .ci/run). */
export function nginxAvailable(): boolean {
  return spawnSync(NGINX, ['-v'], { stdio: 'ignore' }).status === 0;
}

/**
 * A real nginx playing a CDN host on a loopback port: its own prefix folder (pid, logs, temp
 * paths), one process in the foreground (no root needed, nothing left behind), stopped and
 * started again on the same port as a test needs.
 */
export class NginxServer {
  readonly prefix = mkdtempSync(join(tmpdir(), 'vb-nginx-'));
  private process: ChildProcess | undefined;

  /** `locations`: the server block's location directives. */
  constructor(
    readonly port: number,
    locations: string,
  ) {
    for (const dir of ['logs', 'temp']) mkdirSync(join(this.prefix, dir));
    const temp = (name: string) => `${name}_temp_path ${join(this.prefix, 'temp', name)};`;
    writeFileSync(
      join(this.prefix, 'nginx.conf'),
      `daemon off;
master_process off;
pid ${join(this.prefix, 'nginx.pid')};
error_log ${join(this.prefix, 'logs', 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  server {
    listen 127.0.0.1:${port};
    ${locations}
  }
}
`,
    );
  }

  async start(): Promise<void> {
    const child = spawn(NGINX, ['-c', join(this.prefix, 'nginx.conf'), '-p', this.prefix], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    this.process = child;
    const deadline = Date.now() + 5000;
    while (!(await accepts(this.port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`nginx did not start on ${this.port}: ${stderr}${this.errorLog()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops nginx; its port refuses connections once this resolves. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  errorLog(): string {
    try {
      return readFileSync(join(this.prefix, 'logs', 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.prefix, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
