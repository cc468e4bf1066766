import type { CdnHealthCheck } from '../config/cdn-health.js';
import type { CdnLoadSettings } from '../config/cdn-load.js';
import { ROUTING_SCHEMA } from '../config/routing-schema.js';
import { readCacheLoad, type LoadFormat, type LoadResult } from './cache-load.js';
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

/**
 * What a prober does each round: the health check (when a path is set) and the load reading
 * (when `load` is set), on one interval; a host whose load page cannot be read or parsed fails
 * the round as a failed health check does.
 */
export interface ProbeSettings {
  /** The health-check path; undefined = the load reading alone decides. */
  readonly path: string | undefined;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly fall: number;
  readonly rise: number;
  readonly load?: { readonly format: LoadFormat; readonly path: string } | undefined;
}

/** The load readings of the hosts that report one, by base URL. */
export type HostLoads = Readonly<Record<string, number>>;

type ReadLoad = (url: string, format: LoadFormat, timeoutMs: number) => Promise<LoadResult>;

const OK: CheckResult = Object.freeze({ ok: true });

export class CdnProber implements HostStates {
  /** Checks per host and result, read by metrics when scraped. */
  readonly checks: Array<{ success: number; failure: number }>;
  /** The last load reading per host (undefined: none, or not readable). */
  readonly loads: Array<number | undefined>;
  /** Per host: its last reading was over its maxLoad (it gets no new viewers). */
  readonly overMax: boolean[];
  private readonly health: HostHealth[];
  /** Per host: not checked yet (its first check decides at once). */
  private readonly fresh: boolean[];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    readonly hosts: readonly CdnHost[],
    private readonly settings: ProbeSettings,
    private readonly logger: Logger,
    private readonly onChange: (upHosts: readonly string[], loads: HostLoads) => void,
    private readonly check: (url: string, timeoutMs: number) => Promise<CheckResult> = checkUrl,
    previous?: HostStates,
    private readonly readLoad: ReadLoad = readCacheLoad,
  ) {
    this.loads = hosts.map(() => undefined);
    this.overMax = hosts.map(() => false);
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

  /** The base URLs of the hosts that are up and not over their maxLoad: those that may get new viewers. */
  get upHosts(): readonly string[] {
    return this.hosts.filter((_, i) => this.health[i]?.up && !this.overMax[i]).map((h) => h.baseUrl);
  }

  get loadsByHost(): HostLoads {
    const loads: Record<string, number> = {};
    this.hosts.forEach((host, i) => {
      const load = this.loads[i];
      if (load !== undefined) loads[host.baseUrl] = load;
    });
    return loads;
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

  /** Checks every host once, in parallel: health and load. */
  async round(): Promise<void> {
    const { path, load, timeoutMs } = this.settings;
    const results = await Promise.all(
      this.hosts.map(async (host) => {
        const [health, reading] = await Promise.all([
          path === undefined ? OK : this.check(`${host.baseUrl}${path}`, timeoutMs),
          load === undefined ? undefined : this.readLoad(`${host.baseUrl}${load.path}`, load.format, timeoutMs),
        ]);
        return { health, reading };
      }),
    );
    const anyUpBefore = this.health.some((h) => h.up);
    let changed = load !== undefined;
    results.forEach(({ health: checked, reading }, i) => {
      const result: CheckResult = !checked.ok ? checked : reading && !reading.ok ? { ok: false, reason: `load page: ${reading.reason}` } : OK;
      this.loads[i] = reading?.ok ? reading.load : undefined;
      if (reading?.ok) this.noteOverMax(i, reading.load);
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
    const anyUp = this.health.some((h) => h.up);
    if (anyUp !== anyUpBefore) {
      changed = true;
      if (!anyUp) this.logger.warn('every CDN host is down: answers go to the origin servers until one is up again');
      else this.logger.info('a CDN host is up again: answers go to the CDN');
    }
    if (changed) this.onChange(this.upHosts, this.loadsByHost);
  }

  /** Traffic Monitor's "unavailable over threshold": over maxLoad, no new viewers until it reads under it. */
  private noteOverMax(i: number, load: number): void {
    const host = this.hosts[i] as CdnHost;
    if (host.maxLoad === undefined) return;
    const over = load > host.maxLoad;
    if (over === this.overMax[i]) return;
    this.overMax[i] = over;
    if (over) this.logger.warn({ cdnHost: host.baseUrl, load, maxLoad: host.maxLoad }, `CDN host ${host.baseUrl} is over its maxLoad (${load} > ${host.maxLoad}): no new viewers until it reads under it`);
    else this.logger.info({ cdnHost: host.baseUrl, load, maxLoad: host.maxLoad }, `CDN host ${host.baseUrl} is under its maxLoad again (${load}): it gets new viewers`);
  }
}

/** A pool's hosts and how they are checked and read (neither: always up). */
export interface ProbedPool {
  readonly hosts: readonly CdnHost[];
  readonly health: CdnHealthCheck | undefined;
  readonly load?: CdnLoadSettings | undefined;
}

/** One round of health checks and load readings on one interval, as a pool's settings ask. */
export function probeSettings(pool: ProbedPool): ProbeSettings | undefined {
  const { health, load } = pool;
  if (health === undefined && load === undefined) return undefined;
  const s = ROUTING_SCHEMA;
  return Object.freeze({
    path: health?.path,
    intervalMs: load?.intervalMs ?? health?.intervalMs ?? s.healthIntervalMs.integer.fallback,
    timeoutMs: health?.timeoutMs ?? s.healthTimeoutMs.integer.fallback,
    fall: health?.fall ?? s.healthFall.integer.fallback,
    rise: health?.rise ?? s.healthRise.integer.fallback,
    load: load && { format: load.format, path: load.path },
  });
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

  get loads(): ReadonlyArray<number | undefined> {
    return this.probers.flatMap((p) => p.loads);
  }

  get overMax(): readonly boolean[] {
    return this.probers.flatMap((p) => p.overMax);
  }

  get loadsByHost(): HostLoads {
    return Object.assign({}, ...this.probers.map((p) => p.loadsByHost)) as HostLoads;
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
  onChange: (upHosts: readonly string[], loads: HostLoads) => void,
): Promise<CdnProbers | undefined> {
  const planned = pools.map((pool) => ({ pool, settings: probeSettings(pool) }));
  if (planned.every(({ settings }) => settings === undefined)) {
    previous?.stop();
    return undefined;
  }
  // Quiet until its first round is done: until the caller has sent the new routing with the new
  // probers' up set, an up set of the new pools would be applied to the old ones.
  let started = false;
  let next: CdnProbers | undefined;
  const report = () => started && next && onChange(next.upHosts, next.loadsByHost);
  const probers = planned.flatMap(({ pool, settings }) => (settings ? [new CdnProber(pool.hosts, settings, logger, report, checkUrl, previous)] : []));
  next = new CdnProbers(probers, planned.flatMap(({ pool, settings }) => (settings ? [] : pool.hosts)));
  await Promise.all(probers.map((prober) => prober.firstRound()));
  for (const [i, prober] of probers.entries()) {
    const settings = planned.filter((p) => p.settings)[i]?.settings as ProbeSettings;
    logger.info(
      { hosts: prober.hosts.map((h) => h.baseUrl), path: settings.path ?? null, load: settings.load ?? null, intervalMs: settings.intervalMs },
      settings.path === undefined ? 'reading the load of the CDN hosts' : 'health-checking the CDN hosts',
    );
  }
  next.start();
  started = true;
  previous?.stop();
  return next;
}
