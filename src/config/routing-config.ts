import { createHash } from 'node:crypto';
import { OriginAllowList } from '../routing/origin-allow-list.js';
import type { RedirectRule } from '../routing/redirect-router.js';
import type { UrlSigning } from '../routing/signing/create-url-signer.js';
import { loadCdnHealthCheck, type CdnHealthCheck, type ReadInteger } from './cdn-health.js';
import { loadCdnHosts } from './cdn-hosts.js';
import { loadCdnSigning } from './cdn-signing.js';
import { ConfigError } from './config-error.js';
import { parseRoutingFile } from './routing-file.js';
import { ROUTING_SCHEMA } from './routing-schema.js';

/**
 * What may change while the service runs: the rule's settings and how CDN hosts are checked.
 * Built whole, frozen, and replaced whole by a reload (never changed in place).
 */
export interface RoutingConfig extends RedirectRule {
  /** CDN health checks; undefined = none (every host is always up). */
  readonly cdnHealth: CdnHealthCheck | undefined;
  readonly signing: UrlSigning | undefined;
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
  const rule = {
    cdnHosts: fromFile?.cdnHosts ?? cdn.cdnHosts,
    cdnPolicy: fromFile?.cdnPolicy ?? cdn.cdnPolicy,
    originEvery,
    originAllowList: fromFile?.originAllowList ?? loadOriginAllowList(optional('ORIGIN_HOSTS')),
    cdnHealth: fromFile?.set.has('healthPath') ? fromFile.cdnHealth : loadCdnHealthCheck(optional('CDN_HEALTH_PATH'), readInteger),
    signing: fromFile?.set.has('signingScheme')
      ? fromFile.signing
      : loadCdnSigning(optional('CDN_SIGNING'), optional('CDN_SIGNING_SECRET'), optional('CDN_SIGNING_SECRET_FILE'), readInteger),
  };
  return Object.freeze({ ...rule, id: routingId(rule) });
}

function loadOriginAllowList(originHosts = '*.origin-cluster'): OriginAllowList {
  try {
    return new OriginAllowList(originHosts.split(',').filter((p) => p.trim() !== ''));
  } catch (error) {
    throw new ConfigError('ORIGIN_HOSTS', originHosts, `expected comma-separated host names or *.suffix wildcards (${(error as Error).message})`);
  }
}

/** The routing as plain data, for logs and `check-config`: the signing secret never appears. */
export function describeRouting(routing: Omit<RoutingConfig, 'id'> & { id?: string }): Record<string, unknown> {
  return {
    ...(routing.id !== undefined && { id: routing.id }),
    cdn: {
      policy: routing.cdnPolicy,
      hosts: routing.cdnHosts.map((h) => ({ host: h.baseUrl, weight: h.weight })),
      health: routing.cdnHealth ?? null,
      signing: routing.signing ? { scheme: routing.signing.scheme, ttlSeconds: routing.signing.ttlSeconds } : null,
    },
    origin: { every: routing.originEvery, hosts: routing.originAllowList.patterns },
  };
}

/** The first 12 hex digits of a SHA-256 of the routing (a secret counts by its own hash only). */
function routingId(routing: Omit<RoutingConfig, 'id'>): string {
  const secret = routing.signing ? createHash('sha256').update(routing.signing.secret.reveal()).digest('hex') : null;
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
  const a = describeRouting(before) as { cdn: Record<string, unknown>; origin: Record<string, unknown> };
  const b = describeRouting(after) as typeof a;
  const other: string[] = [];
  for (const key of ['policy', 'health', 'signing'] as const) if (JSON.stringify(a.cdn[key]) !== JSON.stringify(b.cdn[key])) other.push(`cdn.${key}`);
  if (before.signing && after.signing && before.signing.secret.reveal() !== after.signing.secret.reveal()) other.push('cdn.signing.secret');
  for (const key of ['every', 'hosts'] as const) if (JSON.stringify(a.origin[key]) !== JSON.stringify(b.origin[key])) other.push(`origin.${key}`);
  changes['otherKeys'] = [...new Set(other)];
  return changes;
}
