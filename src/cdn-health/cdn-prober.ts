import type { CdnHealthCheck } from '../config/cdn-health.js';
import type { Logger } from '../logging/logger.js';
import type { CdnHost } from '../routing/cdn-pool.js';
import { HostHealth, type CheckResult } from './host-health.js';

/** Checks one URL: a connection error, a timeout or a status outside 200-399 is a failure. */
export async function checkUrl(url: string, timeoutMs: number): Promise<CheckResult> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await response.body?.cancel();
    return response.status >= 200 && response.status <= 399 ? { ok: true } : { ok: false, reason: `HTTP ${response.status}` };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return { ok: false, reason: `no answer within ${timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, reason: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

/**
 * Health-checks every CDN host of the pool, every `intervalMs`, and tells `onChange` which are up
 * whenever that changes. One prober runs per machine (the primary, or each pm2 instance); the
 * workers learn the up set over IPC. Each transition is logged once, with its reason.
 */
export class CdnProber {
  /** Checks per host and result, read by metrics when scraped. */
  readonly checks: Array<{ success: number; failure: number }>;
  private readonly health: HostHealth[];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly hosts: readonly CdnHost[],
    private readonly settings: CdnHealthCheck,
    private readonly logger: Logger,
    private readonly onChange: (up: readonly boolean[]) => void,
    private readonly check: (url: string, timeoutMs: number) => Promise<CheckResult> = checkUrl,
  ) {
    this.health = hosts.map(() => new HostHealth(settings.fall, settings.rise));
    this.checks = hosts.map(() => ({ success: 0, failure: 0 }));
  }

  get up(): readonly boolean[] {
    return this.health.map((h) => h.up);
  }

  /** The first round, before anything serves: a host that fails it starts down. Then one round every interval. */
  async firstRound(): Promise<void> {
    await this.round(true);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    // Never what keeps a process alive: a draining pm2 instance ends when its calls do.
    this.timer = setTimeout(() => void this.round().then(() => this.running && this.schedule()), this.settings.intervalMs).unref();
  }

  /** Checks every host once, in parallel. */
  async round(first = false): Promise<void> {
    const results = await Promise.all(this.hosts.map((host) => this.check(`${host.baseUrl}${this.settings.path}`, this.settings.timeoutMs)));
    const anyUpBefore = this.health.some((h) => h.up);
    let changed = false;
    results.forEach((result, i) => {
      (this.checks[i] as { success: number; failure: number })[result.ok ? 'success' : 'failure']++;
      const health = this.health[i] as HostHealth;
      const transition = first ? health.first(result) : health.record(result);
      if (transition === undefined) return;
      changed = true;
      const cdnHost = (this.hosts[i] as CdnHost).baseUrl;
      if (transition === 'went down') {
        this.logger.warn({ cdnHost, reason: (result as { reason: string }).reason, fall: this.settings.fall }, `CDN host ${cdnHost} is down`);
      } else {
        this.logger.info({ cdnHost, rise: this.settings.rise }, `CDN host ${cdnHost} is up again`);
      }
    });
    if (changed) {
      const anyUp = this.health.some((h) => h.up);
      if (anyUpBefore && !anyUp) this.logger.warn('every CDN host is down: answers go to the origin servers until one is up again');
      if (!anyUpBefore && anyUp) this.logger.info('a CDN host is up again: answers go to the CDN');
      this.onChange(this.up);
    }
  }
}

/** A prober that has done its first round (so that nothing serves before it), and checks on from then. */
export async function startCdnProber(
  hosts: readonly CdnHost[],
  settings: CdnHealthCheck,
  logger: Logger,
  onChange: (up: readonly boolean[]) => void,
): Promise<CdnProber> {
  const prober = new CdnProber(hosts, settings, logger, onChange);
  await prober.firstRound();
  prober.start();
  logger.info({ hosts: hosts.map((h) => h.baseUrl), path: settings.path, intervalMs: settings.intervalMs }, 'health-checking the CDN hosts');
  return prober;
}
