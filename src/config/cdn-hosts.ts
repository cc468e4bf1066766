import { CDN_POLICIES, type CdnHost, type CdnPolicy } from '../routing/cdn-pool.js';
import { parseCdnBaseUrl } from './cdn-base-url.js';
import { ConfigError } from './config-error.js';
import { MAX_CDN_WEIGHT } from './routing-schema.js';

export interface CdnConfig {
  readonly cdnHosts: readonly CdnHost[];
  readonly cdnPolicy: CdnPolicy;
}


/**
 * CDN_HOST (one host) or CDN_HOSTS (a pool, `host[=weight],...`), never both, and CDN_POLICY
 * (`weighted`, the default, or `hash`). Each host takes the forms CDN_HOST takes.
 */
export function loadCdnHosts(cdnHost: string | undefined, cdnHosts: string | undefined, cdnPolicy: string | undefined): CdnConfig {
  if (cdnHost !== undefined && cdnHosts !== undefined) {
    throw new ConfigError('CDN_HOSTS', cdnHosts, 'set either CDN_HOST or CDN_HOSTS, not both');
  }
  const policy = (cdnPolicy ?? 'weighted') as CdnPolicy;
  if (!CDN_POLICIES.includes(policy)) throw new ConfigError('CDN_POLICY', policy, `expected ${CDN_POLICIES.join(', ')}`);

  if (cdnHosts === undefined) {
    const value = cdnHost ?? 'cdn.example.com';
    const parsed = parseCdnBaseUrl(value);
    if ('problem' in parsed) throw new ConfigError('CDN_HOST', value, parsed.problem);
    return Object.freeze({ cdnHosts: Object.freeze([Object.freeze({ baseUrl: parsed.baseUrl, weight: 1 })]), cdnPolicy: policy });
  }

  const hosts: CdnHost[] = [];
  for (const rawEntry of cdnHosts.split(',')) {
    const entry = rawEntry.trim();
    const weightMatch = /=(\d+)$/.exec(entry);
    const spec = weightMatch ? entry.slice(0, weightMatch.index) : entry;
    const weight = weightMatch ? Number(weightMatch[1]) : 1;
    if (spec === '') throw new ConfigError('CDN_HOSTS', cdnHosts, 'has an empty entry; expected host[=weight],host[=weight],...');
    if (!(weight >= 1 && weight <= MAX_CDN_WEIGHT)) {
      throw new ConfigError('CDN_HOSTS', cdnHosts, `${JSON.stringify(entry)}: the weight must be a whole number from 1 to ${MAX_CDN_WEIGHT}`);
    }
    const parsed = parseCdnBaseUrl(spec);
    if ('problem' in parsed) throw new ConfigError('CDN_HOSTS', cdnHosts, `${JSON.stringify(entry)}: ${parsed.problem}`);
    if (hosts.some((h) => h.baseUrl === parsed.baseUrl)) {
      throw new ConfigError('CDN_HOSTS', cdnHosts, `${JSON.stringify(spec)} is listed twice`);
    }
    hosts.push(Object.freeze({ baseUrl: parsed.baseUrl, weight }));
  }
  return Object.freeze({ cdnHosts: Object.freeze(hosts), cdnPolicy: policy });
}
