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
 * (by base URL) whenever that changes. One prober runs per machine (the primary, or each pm2
 * instance); the workers learn the up set over IPC. Each transition is logged once, with its
 * reason. A prober made for a reloaded pool takes over the state and counts of the hosts that
 * stay from the one before; a host that arrives is decided by its first check.
 */
/** What a prober knew of a host, for the one that replaces it. */
export interface HostStates {
  stateOf(baseUrl: string): { readonly health: HostHealth; readonly checks: { success: number; failure: number } } | undefined;
}

export class CdnProber implements HostStates {
  /** Checks per host and result, read by metrics when scraped. */
  readonly checks: Array<{ success: number; failure: number }>;
  private readonly health: HostHealth[];
  /** Per host: not checked yet (its first check decides at once). */
  private readonly fresh: boolean[];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    readonly hosts: readonly CdnHost[],
    private readonly settings: CdnHealthCheck,
    private readonly logger: Logger,
    private readonly onChange: (upHosts: readonly string[]) => void,
    private readonly check: (url: string, timeoutMs: number) => Promise<CheckResult> = checkUrl,
    previous?: HostStates,
  ) {
    const before = hosts.map((host) => previous?.stateOf(host.baseUrl));
    this.health = before.map((state) => state?.health.withThresholds(settings.fall, settings.rise) ?? new HostHealth(settings.fall, settings.rise));
    this.checks = before.map((state) => ({ ...(state?.checks ?? { success: 0, failure: 0 }) }));
    this.fresh = before.map((state) => state === undefined);
  }

  stateOf(baseUrl: string) {
    const i = this.hosts.findIndex((h) => h.baseUrl === baseUrl);
    return i < 0 ? undefined : { health: this.health[i] as HostHealth, checks: this.checks[i] as { success: number; failure: number } };
  }

  get up(): readonly boolean[] {
    return this.health.map((h) => h.up);
  }

  /** The base URLs of the hosts that are up. */
  get upHosts(): readonly string[] {
    return this.hosts.filter((_, i) => this.health[i]?.up).map((h) => h.baseUrl);
  }

  /** The first round, before anything serves: a new host that fails it starts down. Then one round every interval. */
  async firstRound(): Promise<void> {
    await this.round();
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
  async round(): Promise<void> {
    const results = await Promise.all(this.hosts.map((host) => this.check(`${host.baseUrl}${this.settings.path}`, this.settings.timeoutMs)));
    const anyUpBefore = this.health.some((h) => h.up);
    let changed = false;
    results.forEach((result, i) => {
      (this.checks[i] as { success: number; failure: number })[result.ok ? 'success' : 'failure']++;
      const health = this.health[i] as HostHealth;
      const transition = this.fresh[i] ? health.first(result) : health.record(result);
      this.fresh[i] = false;
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
      this.onChange(this.upHosts);
    }
  }
}

/** A pool's hosts and how they are checked (none: always up). */
export interface ProbedPool {
  readonly hosts: readonly CdnHost[];
  readonly health: CdnHealthCheck | undefined;
}

/**
 * The probers of every pool that has health checks, as one: the up set of all pools (the hosts
 * of a pool without checks are always up), and the checked hosts with their state and counts.
 */
export class CdnProbers implements HostStates {
  constructor(
    private readonly probers: readonly CdnProber[],
    private readonly unchecked: readonly CdnHost[],
  ) {}

  /** The checked hosts; `up` and `checks` go by the same index. */
  get hosts(): readonly CdnHost[] {
    return this.probers.flatMap((p) => p.hosts);
  }

  get up(): readonly boolean[] {
    return this.probers.flatMap((p) => p.up);
  }

  get checks(): ReadonlyArray<{ success: number; failure: number }> {
    return this.probers.flatMap((p) => p.checks);
  }

  /** The base URLs of the hosts that are up, in every pool. */
  get upHosts(): readonly string[] {
    return [...this.probers.flatMap((p) => p.upHosts), ...this.unchecked.map((h) => h.baseUrl)];
  }

  stateOf(baseUrl: string) {
    for (const prober of this.probers) {
      const state = prober.stateOf(baseUrl);
      if (state) return state;
    }
    return undefined;
  }

  start(): void {
    for (const prober of this.probers) prober.start();
  }

  stop(): void {
    for (const prober of this.probers) prober.stop();
  }
}

/**
 * The probers for a new routing: none when no pool has health checks; else one per checked
 * pool, each taking over the state of the hosts that stay (and checking new ones at once), after
 * a first round of all of them, replacing `previous`. `onChange` gets the up set of all pools.
 */
export async function replaceCdnProber(
  previous: CdnProbers | undefined,
  pools: readonly ProbedPool[],
  logger: Logger,
  onChange: (upHosts: readonly string[]) => void,
): Promise<CdnProbers | undefined> {
  if (!pools.some((pool) => pool.health !== undefined)) {
    previous?.stop();
    return undefined;
  }
  // Quiet until its first round is done: until the caller has sent the new routing with the new
  // probers' up set, an up set of the new pools would be applied to the old ones.
  let started = false;
  let next: CdnProbers | undefined;
  const report = () => started && next && onChange(next.upHosts);
  const probers = pools.flatMap((pool) => (pool.health ? [new CdnProber(pool.hosts, pool.health, logger, report, checkUrl, previous)] : []));
  next = new CdnProbers(probers, pools.flatMap((pool) => (pool.health ? [] : pool.hosts)));
  await Promise.all(probers.map((prober) => prober.firstRound()));
  for (const [i, prober] of probers.entries()) {
    const settings = pools.filter((pool) => pool.health)[i]?.health as CdnHealthCheck;
    logger.info({ hosts: prober.hosts.map((h) => h.baseUrl), path: settings.path, intervalMs: settings.intervalMs }, 'health-checking the CDN hosts');
  }
  next.start();
  started = true;
  previous?.stop();
  return next;
}
