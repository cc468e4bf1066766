import { createHash } from 'node:crypto';
import { OriginAllowList } from '../routing/origin-allow-list.js';
import { DEFAULT_POOL, type CdnPoolRule, type PooledHost, type RedirectRule } from '../routing/redirect-router.js';
import type { UrlSigning } from '../routing/signing/create-url-signer.js';
import { loadCdnHealthCheck, type CdnHealthCheck, type ReadInteger } from './cdn-health.js';
import { loadCdnHosts } from './cdn-hosts.js';
import { loadCdnLoad, type CdnLoadSettings } from './cdn-load.js';
import type { CdnHost } from '../routing/cdn-pool.js';
import { loadCdnSigning } from './cdn-signing.js';
import { ConfigError } from './config-error.js';
import { parseRoutingFile } from './routing-file.js';
import { ROUTING_SCHEMA } from './routing-schema.js';
import { loadSteering, type SteeringConfig } from './steering-config.js';

/** A CDN pool with how its hosts are checked. */
export interface CdnPoolConfig extends CdnPoolRule {
  /** CDN health checks; undefined = none (every host is always up). */
  readonly health: CdnHealthCheck | undefined;
  readonly signing: UrlSigning | undefined;
  /** Load readings of its hosts; undefined = none. */
  readonly load: CdnLoadSettings | undefined;
}

/**
 * What may change while the service runs: the rule's settings and how CDN hosts are checked.
 * Built whole, frozen, and replaced whole by a reload (never changed in place).
 */
export interface RoutingConfig extends RedirectRule {
  /** The pools, `default` first; today's single-pool forms are the pool `default`. */
  readonly pools: readonly CdnPoolConfig[];
  /** Every CDN host of every pool, pool by pool. */
  readonly cdnHosts: readonly PooledHost[];
  readonly steering: SteeringConfig | undefined;
  /** A short identifier of these settings (a hash), shown in metrics and logs. */
  readonly id: string;
}

/** The routing file as read: its path and its text. */
export interface RoutingFile {
  readonly path: string;
  readonly text: string;
}

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The routing, from the environment and, when given, the routing file. A setting both give is a
 * ConfigError naming both; a setting neither gives takes its default.
 */
export function loadRouting(env: Environment, file: RoutingFile | undefined, readInteger: ReadInteger): RoutingConfig {
  const fromFile = file && parseRoutingFile(file.path, file.text);
  const optional = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  for (const name of fromFile?.set ?? []) {
    const setting = ROUTING_SCHEMA[name];
    for (const variable of setting.variables) {
      const value = optional(variable);
      if (value !== undefined) {
        throw new ConfigError(variable, value, `is set in the environment and by ${setting.key} in CONFIG_FILE ${file?.path}: set it in one place`);
      }
    }
  }
  // What the file does not set comes from the environment (or its default).
  const cdn = loadCdnHosts(optional('CDN_HOST'), optional('CDN_HOSTS'), optional('CDN_POLICY'));
  const originEvery = fromFile?.originEvery ?? readInteger(ROUTING_SCHEMA.originEvery);
  const single = {
    hosts: fromFile?.cdnHosts ?? cdn.cdnHosts,
    policy: fromFile?.cdnPolicy ?? cdn.cdnPolicy,
    load: fromFile?.set.has('loadFormat')
      ? fromFile.cdnLoad
      : loadCdnLoad(optional('CDN_LOAD_FORMAT'), optional('CDN_LOAD_PATH'), optional('CDN_LOAD_INTERVAL_MS'), readInteger),
  };
  if (fromFile?.pools === undefined) checkSinglePoolLoad(single, fromFile?.set.has('cdnPolicy') ? file?.path : undefined, file?.path);
  const pools: readonly CdnPoolConfig[] = fromFile?.pools ?? [
    Object.freeze({
      name: DEFAULT_POOL,
      ...single,
      health: fromFile?.set.has('healthPath') ? fromFile.cdnHealth : loadCdnHealthCheck(optional('CDN_HEALTH_PATH'), readInteger),
      signing: fromFile?.set.has('signingScheme')
        ? fromFile.signing
        : loadCdnSigning(optional('CDN_SIGNING'), optional('CDN_SIGNING_SECRET'), optional('CDN_SIGNING_SECRET_FILE'), readInteger),
    }),
  ];
  const poolIndex = new Map(pools.map((pool, i) => [pool.name, i]));
  const rule = {
    pools: Object.freeze(pools),
    cdnHosts: Object.freeze(pools.flatMap((pool) => pool.hosts.map((host) => Object.freeze({ ...host, pool: pool.name })))),
    originEvery,
    originAllowList: fromFile?.originAllowList ?? loadOriginAllowList(optional('ORIGIN_HOSTS')),
    steering: fromFile?.steering && file ? loadSteering(fromFile.steering, poolIndex, file.path) : undefined,
  };
  return Object.freeze({ ...rule, id: routingId(rule) });
}

/** least-loaded, and maxLoad, need load readings (the file's pools are checked as they are read). */
function checkSinglePoolLoad(pool: { hosts: readonly CdnHost[]; policy: string; load: CdnLoadSettings | undefined }, policyFile: string | undefined, routingFile: string | undefined): void {
  if (pool.load !== undefined) return;
  const capped = pool.hosts.findIndex((h) => h.maxLoad !== undefined);
  if (capped >= 0 && routingFile !== undefined) throw new ConfigError('CONFIG_FILE', routingFile, `cdn.hosts[${capped}].maxLoad: needs cdn.load: without load readings there is nothing to compare it with`);
  if (pool.policy !== 'least-loaded') return;
  if (policyFile !== undefined) throw new ConfigError('CONFIG_FILE', policyFile, "cdn.policy: least-loaded needs cdn.load (format and path of each host's status page)");
  throw new ConfigError('CDN_POLICY', pool.policy, "least-loaded needs CDN_LOAD_FORMAT and CDN_LOAD_PATH (how to read each host's load)");
}

function loadOriginAllowList(originHosts = '*.origin-cluster'): OriginAllowList {
  try {
    return new OriginAllowList(originHosts.split(',').filter((p) => p.trim() !== ''));
  } catch (error) {
    throw new ConfigError('ORIGIN_HOSTS', originHosts, `expected comma-separated host names or *.suffix wildcards (${(error as Error).message})`);
  }
}

/** A pool as plain data: the signing secret never appears. */
function describePool(pool: CdnPoolConfig): Record<string, unknown> {
  return {
    policy: pool.policy,
    hosts: pool.hosts.map((h) => ({ host: h.baseUrl, weight: h.weight, ...(h.maxLoad !== undefined && { maxLoad: h.maxLoad }) })),
    health: pool.health ?? null,
    signing: pool.signing ? { scheme: pool.signing.scheme, ttlSeconds: pool.signing.ttlSeconds } : null,
    // Only when set: a routing without load readings keeps the identifier it had before they existed.
    ...(pool.load && { load: pool.load }),
  };
}

/**
 * The routing as plain data, for logs and `check-config`: the signing secret never appears. One
 * pool and no steering is described as before pools existed (so its identifier stays the same).
 */
export function describeRouting(routing: Omit<RoutingConfig, 'id'> & { id?: string }): Record<string, unknown> {
  const single = routing.pools.length === 1 && routing.steering === undefined;
  return {
    ...(routing.id !== undefined && { id: routing.id }),
    cdn: single ? describePool(routing.pools[0] as CdnPoolConfig) : { pools: Object.fromEntries(routing.pools.map((pool) => [pool.name, describePool(pool)])) },
    ...(routing.steering && { steering: routing.steering.description }),
    origin: { every: routing.originEvery, hosts: routing.originAllowList.patterns },
  };
}

/** The first 12 hex digits of a SHA-256 of the routing (a secret counts by its own hash only). */
function routingId(routing: Omit<RoutingConfig, 'id'>): string {
  const secrets = routing.pools.map((pool) => (pool.signing ? createHash('sha256').update(pool.signing.secret.reveal()).digest('hex') : null));
  const secret = secrets.length === 1 ? secrets[0] : secrets;
  return createHash('sha256')
    .update(JSON.stringify({ ...describeRouting(routing), secret }))
    .digest('hex')
    .slice(0, 12);
}

/** What a reload changed, in words for its one log line. */
export function routingChanges(before: RoutingConfig, after: RoutingConfig): Record<string, unknown> {
  const weights = (r: RoutingConfig) => new Map(r.cdnHosts.map((h) => [h.baseUrl, h.weight]));
  const old = weights(before);
  const now = weights(after);
  const changes: Record<string, unknown> = {
    hostsAdded: [...now.keys()].filter((h) => !old.has(h)),
    hostsRemoved: [...old.keys()].filter((h) => !now.has(h)),
    hostsReweighted: [...now].filter(([h, w]) => old.has(h) && old.get(h) !== w).map(([h, w]) => `${h}: ${old.get(h)} -> ${w}`),
  };
  const other: string[] = [];
  const poolsBefore = new Map(before.pools.map((pool) => [pool.name, pool]));
  const single = before.pools.length === 1 && after.pools.length === 1;
  for (const pool of after.pools) {
    const old = poolsBefore.get(pool.name);
    const prefix = single ? 'cdn' : `cdn.pools.${pool.name}`;
    if (old === undefined) {
      other.push(prefix);
      continue;
    }
    const a = describePool(old);
    const b = describePool(pool);
    for (const key of ['policy', 'health', 'signing', 'load'] as const) if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) other.push(`${prefix}.${key}`);
    if (old.signing && pool.signing && old.signing.secret.reveal() !== pool.signing.secret.reveal()) other.push(`${prefix}.signing.secret`);
  }
  for (const pool of before.pools) if (!after.pools.some((p) => p.name === pool.name)) other.push(`cdn.pools.${pool.name}`);
  if (JSON.stringify(before.steering?.description ?? null) !== JSON.stringify(after.steering?.description ?? null)) other.push('steering');
  for (const key of ['every', 'hosts'] as const) {
    const a = key === 'every' ? before.originEvery : before.originAllowList.patterns;
    const b = key === 'every' ? after.originEvery : after.originAllowList.patterns;
    if (JSON.stringify(a) !== JSON.stringify(b)) other.push(`origin.${key}`);
  }
  changes['otherKeys'] = [...new Set(other)];
  return changes;
}
