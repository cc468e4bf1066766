import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { assertPortFree, findFreePort } from './free-port.js';
import { isReadyMessage, isSyncRequest, type SyncReply } from './messages.js';
import { RestartBackoff } from './restart-backoff.js';

/** After this many workers in a row die before listening, start-up is hopeless. */
const MAX_STARTUP_FAILURES = 3;
/** A replacement that does not listen within this time aborts a rolling restart. */
const READY_TIMEOUT_MS = 30_000;
/** Beyond SHUTDOWN_TIMEOUT_MS, how long the supervisor waits for workers before killing them. */
const EXIT_GRACE_MS = 5_000;

type WorkerState = 'starting' | 'ready' | 'draining';

/**
 * The primary process: forks `config.workers` workers that share the gRPC port, replaces those
 * that die (with back-off), drains them all on SIGTERM/SIGINT and rolls them one at a time on
 * SIGUSR2 (SIGHUP reloads the routing, in main.ts). Knows nothing of gRPC: workers report
 * readiness over IPC.
 */
export class Supervisor {
  private readonly states = new Map<Worker, WorkerState>();
  private readonly backoff: RestartBackoff;
  private readonly pendingRestarts = new Set<NodeJS.Timeout>();
  private consecutiveStartupFailures = 0;
  /** The port every worker binds: GRPC_PORT, or a free one chosen at start when it is 0. */
  private port = 0;
  private announced = false;
  private shuttingDown = false;
  private rolling = false;
  /** Raised to 1 when start-up failed, so that the supervisor's exit reports it. */
  private exitCode = 0;
  /** Workers replaced after an unexpected exit. */
  restarts = 0;
  /** The last broadcast message of each type, oldest first, which a starting worker asks for (see SyncRequest). */
  private readonly latestBroadcasts = new Map<string, object>();

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.backoff = new RestartBackoff(Math.min(100, config.restartBackoffMaxMs), config.restartBackoffMaxMs);
  }

  /** Workers that listen and are not draining. */
  get readyWorkers(): number {
    let ready = 0;
    for (const state of this.states.values()) if (state === 'ready') ready++;
    return ready;
  }

  /** Whether SIGTERM/SIGINT (or a failed start-up) has begun the shutdown. */
  get stopping(): boolean {
    return this.shuttingDown;
  }

  async start(): Promise<void> {
    // Workers listen with SO_REUSEPORT, which would let a second copy of the service share the
    // port silently; a plain bind first fails when anything serves the port already.
    const { grpcHost, grpcPort } = this.config;
    this.port = await (grpcPort === 0 ? findFreePort(grpcHost) : assertPortFree(grpcHost, grpcPort)).catch((error: Error) => {
      throw new Error(`cannot listen on ${grpcHost}:${grpcPort} (GRPC_PORT): ${error.message}`);
    });
    process.on('SIGTERM', () => this.shutdown('SIGTERM'));
    process.on('SIGINT', () => this.shutdown('SIGINT'));
    process.on('SIGUSR2', () => void this.rollingRestart());
    cluster.setupPrimary({ execArgv: [...process.execArgv, ...this.config.workerNodeFlags] });
    for (let i = 0; i < this.config.workers; i++) this.fork();
  }

  private fork(): Worker {
    const worker = cluster.fork({ GRPC_PORT: String(this.port) });
    this.states.set(worker, 'starting');
    worker.on('message', (message) => {
      if (isSyncRequest(message)) {
        worker.send({ type: 'synced', latest: [...this.latestBroadcasts.values()] } satisfies SyncReply);
        return;
      }
      if (!isReadyMessage(message)) return;
      if (this.states.get(worker) === 'starting') this.states.set(worker, 'ready');
      this.consecutiveStartupFailures = 0;
      if (!this.announced) {
        this.announced = true;
        this.logger.info({ host: this.config.grpcHost, port: message.port }, `serving gRPC on ${this.config.grpcHost}:${message.port}`);
      }
    });
    worker.on('exit', (code, signal) => this.onExit(worker, code, signal));
    return worker;
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const state = this.states.get(worker);
    this.states.delete(worker);
    const details = { worker: worker.id, workerPid: worker.process.pid, code, signal };
    if (this.shuttingDown) {
      this.logger.info(details, 'worker exited');
      if (this.states.size === 0) this.exit(0, 'all workers stopped');
      return;
    }
    if (state === 'draining') {
      this.logger.info(details, 'worker retired');
      return;
    }
    if (state === 'starting') {
      this.consecutiveStartupFailures++;
      if (this.consecutiveStartupFailures >= MAX_STARTUP_FAILURES) {
        this.logger.fatal(
          details,
          `workers keep dying at start-up (${this.consecutiveStartupFailures} in a row); see the worker's error above. Giving up`,
        );
        this.shuttingDown = true;
        this.cancelPendingRestarts();
        for (const other of this.states.keys()) other.process.kill('SIGKILL');
        if (this.states.size === 0) this.exit(1, 'start-up failed');
        else this.exitCode = 1;
        return;
      }
    }
    const delayMs = this.backoff.nextDelay(Date.now());
    this.logger.error({ ...details, restartInMs: delayMs }, 'worker died; replacing it');
    const timer = setTimeout(() => {
      this.pendingRestarts.delete(timer);
      this.restarts++;
      this.fork();
    }, delayMs);
    this.pendingRestarts.add(timer);
  }

  private shutdown(signal: string): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.cancelPendingRestarts();
    this.logger.info({ signal, workers: this.states.size }, 'shutting down: draining workers');
    if (this.states.size === 0) this.exit(0, 'no workers were running');
    for (const [worker, state] of this.states) {
      if (state !== 'draining') this.drainWorker(worker);
    }
    setTimeout(() => {
      this.logger.error({ workers: this.states.size }, 'workers did not stop in time; killing them');
      for (const worker of this.states.keys()) worker.process.kill('SIGKILL');
      this.exit(1, 'forced');
    }, this.config.shutdownTimeoutMs + EXIT_GRACE_MS).unref();
  }

  /** Replaces every worker, one at a time: the new one listens before the old one drains. */
  private async rollingRestart(): Promise<void> {
    if (this.rolling || this.shuttingDown) {
      this.logger.warn('SIGUSR2 ignored: a rolling restart or shutdown is already under way');
      return;
    }
    this.rolling = true;
    this.logger.info({ workers: this.states.size }, 'rolling restart started');
    try {
      for (const old of [...this.states.keys()]) {
        if (this.shuttingDown) return;
        if (this.states.get(old) !== 'ready') continue;
        const replacement = this.fork();
        await this.whenReady(replacement);
        if (this.shuttingDown) return;
        const exited = new Promise((resolve) => old.once('exit', resolve));
        this.drainWorker(old);
        await exited;
      }
      this.logger.info({ workers: this.states.size }, 'rolling restart finished');
    } catch (error) {
      this.logger.error({ err: error }, 'rolling restart aborted');
    } finally {
      this.rolling = false;
    }
  }

  private whenReady(worker: Worker): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${worker.id} did not listen within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const onMessage = (message: unknown) => {
        if (!isReadyMessage(message)) return;
        cleanup();
        resolve();
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`worker ${worker.id} exited before it listened`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }

  /**
   * Sends `message` to every worker, and the last of its `type` to every worker started later
   * (when it asks, before it serves). The supervisor looks no further inside: what it carries is
   * the sender's business.
   */
  broadcast<Message extends { readonly type: string }>(message: Message): void {
    // Re-inserted, so that a starting worker gets the latest messages in the order they were sent.
    this.latestBroadcasts.delete(message.type);
    this.latestBroadcasts.set(message.type, message);
    for (const worker of this.states.keys()) if (worker.isConnected()) worker.send(message);
  }

  /**
   * Broadcasts `message`, and resolves once every worker that was serving has answered it with a
   * message `isReply` accepts, or `timeoutMs` has passed: per worker, its reply, or undefined if
   * it gave none in time (a stalled worker) or exited. Workers still starting get the message
   * (or sync it) and are not waited for.
   */
  broadcastAndCollect<Message extends { readonly type: string }, Reply>(
    message: Message,
    isReply: (message: unknown) => message is Reply,
    timeoutMs: number,
  ): Promise<Array<{ readonly worker: number; readonly pid: number | undefined; readonly reply: Reply | undefined }>> {
    const serving = [...this.states].filter(([worker, state]) => state === 'ready' && worker.isConnected()).map(([worker]) => worker);
    const replies = serving.map(
      (worker) =>
        new Promise<{ worker: number; pid: number | undefined; reply: Reply | undefined }>((resolve) => {
          const done = (reply: Reply | undefined) => {
            clearTimeout(timer);
            worker.off('message', onMessage);
            worker.off('exit', onExit);
            resolve({ worker: worker.id, pid: worker.process.pid, reply });
          };
          const onMessage = (reply: unknown) => isReply(reply) && done(reply);
          const onExit = () => done(undefined);
          const timer = setTimeout(done, timeoutMs, undefined);
          worker.on('message', onMessage);
          worker.once('exit', onExit);
        }),
    );
    this.broadcast(message);
    return Promise.all(replies);
  }

  private drainWorker(worker: Worker): void {
    this.states.set(worker, 'draining');
    if (worker.isConnected()) worker.send({ type: 'drain' });
    else worker.process.kill('SIGTERM');
  }

  private cancelPendingRestarts(): void {
    for (const timer of this.pendingRestarts) clearTimeout(timer);
    this.pendingRestarts.clear();
  }

  private exit(code: number, reason: string): void {
    const exitCode = Math.max(code, this.exitCode);
    this.logger.info({ exitCode, reason }, 'supervisor exiting');
    process.exit(exitCode);
  }
}
