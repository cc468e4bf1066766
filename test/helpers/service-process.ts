import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** `dist/src/main.js`: the entry point `npm start` runs, built by `pretest`. */
export const MAIN_PATH = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The container health-check script, built beside the entry point. */
export const HEALTH_CHECK_PATH = fileURLToPath(new URL('../../dist/src/cli/health-check.js', import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string; pid?: number; role?: string };
type LogPredicate = (line: LogLine) => boolean;

/**
 * The real service as a child process on a free port, with its stdout parsed as JSON lines.
 * A line that is not JSON is kept in `badLines`: the logs promise never to interleave.
 */
export class ServiceProcess {
  readonly logs: LogLine[] = [];
  readonly badLines: string[] = [];
  stderr = '';
  port = 0;
  private waiters: Array<{ predicate: LogPredicate; resolve: (line: LogLine) => void }> = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    let pending = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const text = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        this.onLine(text);
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
  }

  private onLine(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      this.badLines.push(text);
      return;
    }
    this.logs.push(line);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.predicate(line)) return true;
      waiter.resolve(line);
      return false;
    });
  }

  /** The first line matching `predicate` among those from index `since` on (`logs.length` before an action: only what followed it). */
  waitForLog(predicate: LogPredicate, timeoutMs = 15_000, since = 0): Promise<LogLine> {
    const seen = this.logs.slice(since).find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no matching log line within ${timeoutMs} ms; logs:\n${this.describeLogs()}`));
      }, timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  /** Waits for `count` log lines that match, counting those already seen. */
  async waitForLogCount(predicate: LogPredicate, count: number, timeoutMs = 15_000): Promise<LogLine[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matching = this.logs.filter(predicate);
      if (matching.length >= count) return matching;
      if (Date.now() > deadline) throw new Error(`saw ${matching.length} of ${count} log lines; logs:\n${this.describeLogs()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Pids of the workers that said they listen and have not exited. */
  liveWorkerPids(): number[] {
    const gone = new Set(
      this.logs
        .filter((l) => l.role === 'primary' && typeof l.msg === 'string' && /^worker (exited|retired|died)/.test(l.msg))
        .map((l) => (l as { worker?: number }).worker),
    );
    return this.logs
      .filter((l) => l.msg === 'worker listening' && !gone.has(l['worker'] as number))
      .map((l) => l.pid as number);
  }

  exit(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return Promise.race([
      this.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`service did not exit within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  }

  /** Stops the service (SIGTERM, then SIGKILL if it hangs) and resolves with how it exited. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    try {
      return await this.exit();
    } catch (error) {
      this.child.kill('SIGKILL');
      throw error;
    }
  }

  describeLogs(): string {
    return [...this.logs.map((l) => JSON.stringify(l)), ...this.badLines, this.stderr].join('\n');
  }
}

export interface SpawnOptions {
  /**
   * false: run without tap's coverage hooks (NODE_OPTIONS), which slow every process start
   * several times over; for tests that time a start.
   */
  readonly instrumented?: boolean;
}

/**
 * The command that runs `node NODE_ARGS...` without tap's coverage. tap's processinfo hook adds
 * NODE_OPTIONS back to every child's environment, whatever it was given: `env -u` drops it (and
 * the coverage folder) after the spawn, before node starts.
 */
export function withoutCoverage(nodeArgs: readonly string[]): [string, string[]] {
  return ['env', ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', process.execPath, ...nodeArgs]];
}

/** Spawns the service without waiting for it. */
export function spawnService(env: Record<string, string>, { instrumented = true }: SpawnOptions = {}): ServiceProcess {
  const [command, args] = instrumented ? [process.execPath, [MAIN_PATH]] : withoutCoverage([MAIN_PATH]);
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', WORKERS: '2', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ServiceProcess(child);
}

/** Starts the service on a free port and waits until all its workers listen. */
export async function startService(env: Record<string, string> = {}, options: SpawnOptions = {}): Promise<ServiceProcess> {
  const service = spawnService(env, options);
  const serving = await service.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('serving gRPC on'));
  service.port = serving['port'] as number;
  await service.waitForLogCount((l) => l.msg === 'worker listening', Number(env['WORKERS'] ?? '2'));
  return service;
}
