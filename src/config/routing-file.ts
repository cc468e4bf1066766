import { parseDocument } from 'yaml';
import { OriginAllowList } from '../routing/origin-allow-list.js';
import { CDN_POLICIES, type CdnHost, type CdnPolicy } from '../routing/cdn-pool.js';
import { MAX_BELIEVED_LOAD, type LoadFormat } from '../cdn-health/cache-load.js';
import { loadFormatProblem, type CdnLoadSettings } from './cdn-load.js';
import type { UrlSigning } from '../routing/signing/create-url-signer.js';
import { SIGNING_SCHEMES, SigningSecret, type SigningScheme } from '../routing/signing/url-signer.js';
import { parseCdnBaseUrl } from './cdn-base-url.js';
import { healthPathProblem, type CdnHealthCheck } from './cdn-health.js';
import { readSecretFile } from './cdn-signing.js';
import { ConfigError } from './config-error.js';
import { MAX_CDN_WEIGHT, rangeProblem, ROUTING_SCHEMA, type RoutingSetting, type RoutingSettingName } from './routing-schema.js';
import { CONTINENT_CODES, COUNTRY_CODES } from './country-codes.js';
import { DEFAULT_POOL } from '../routing/redirect-router.js';
import { parseNetwork, type Network } from '../routing/steering/network-table.js';

/** A named CDN pool as the file gives it. */
export interface CdnPoolSettings {
  readonly name: string;
  readonly hosts: readonly CdnHost[];
  readonly policy: CdnPolicy;
  readonly health: CdnHealthCheck | undefined;
  readonly signing: UrlSigning | undefined;
  readonly load: CdnLoadSettings | undefined;
}

/** The `steering` section, checked key by key; files and pool names are checked when it is loaded. */
export interface SteeringSettings {
  readonly trustedProxies: ReadonlyArray<{ readonly network: Network; readonly key: string }>;
  readonly zones: ReadonlyArray<{ readonly name: string; readonly pool: string; readonly key: string; readonly networks: ReadonlyArray<{ readonly network: Network; readonly key: string }> }>;
  readonly coverageZoneFile: string | undefined;
  readonly geo:
    | {
        readonly database: string;
        readonly countries: ReadonlyArray<{ readonly code: string; readonly pool: string; readonly key: string }>;
        readonly continents: ReadonlyArray<{ readonly code: string; readonly pool: string; readonly key: string }>;
      }
    | undefined;
}

/** What a routing file sets: only the settings it names, and which those are. */
export interface RoutingFileSettings {
  readonly set: ReadonlySet<RoutingSettingName>;
  readonly cdnHosts?: readonly CdnHost[];
  readonly cdnPolicy?: CdnPolicy;
  readonly cdnHealth?: CdnHealthCheck;
  readonly signing?: UrlSigning;
  readonly cdnLoad?: CdnLoadSettings;
  /** `cdn.pools`: every pool, `default` first. */
  readonly pools?: readonly CdnPoolSettings[];
  readonly steering?: SteeringSettings;
  readonly originEvery?: number;
  readonly originAllowList?: OriginAllowList;
}

/** A problem at a key of the file: ConfigError('CONFIG_FILE', path, 'cdn.hosts[1].weight: ...'). */
export class FileProblem extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key}: ${problem}`);
  }
}

type Json = unknown;
const isObject = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);

function object(value: Json, key: string, allowed: readonly string[]): Record<string, Json> {
  if (!isObject(value)) throw new FileProblem(key, `must be a mapping with the keys ${allowed.join(', ')}`);
  for (const name of Object.keys(value)) {
    if (!allowed.includes(name)) throw new FileProblem(key === '' ? name : `${key}.${name}`, `unknown key (expected one of ${allowed.join(', ')})`);
  }
  return value;
}

function integer(value: Json, setting: RoutingSetting, key = setting.key): number {
  const range = setting.integer as NonNullable<RoutingSetting['integer']>;
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max)) {
    throw new FileProblem(key, rangeProblem(range));
  }
  return value;
}

function text(value: Json, key: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new FileProblem(key, 'must be a non-empty string');
  return value;
}

function cdnHosts(value: Json, key: string): CdnHost[] {
  if (!Array.isArray(value) || value.length === 0) throw new FileProblem(key, 'must be a list of at least one { host, weight }');
  const hosts: CdnHost[] = [];
  value.forEach((entry, i) => {
    const at = `${key}[${i}]`;
    // `- cdn-a.example.com` is short for `- host: cdn-a.example.com` (weight 1).
    const fields = typeof entry === 'string' ? { host: entry } : object(entry, at, ['host', 'weight', 'maxLoad']);
    const host = text(fields['host'], `${at}.host`);
    const parsed = parseCdnBaseUrl(host);
    if ('problem' in parsed) throw new FileProblem(`${at}.host`, parsed.problem);
    const weight = fields['weight'] ?? 1;
    if (!(typeof weight === 'number' && Number.isInteger(weight) && weight >= 1 && weight <= MAX_CDN_WEIGHT)) {
      throw new FileProblem(`${at}.weight`, `must be a whole number from 1 to ${MAX_CDN_WEIGHT}`);
    }
    if (hosts.some((h) => h.baseUrl === parsed.baseUrl)) throw new FileProblem(`${at}.host`, `${JSON.stringify(host)} is listed twice`);
    const maxLoad = fields['maxLoad'];
    if (maxLoad !== undefined && !(typeof maxLoad === 'number' && Number.isInteger(maxLoad) && maxLoad >= 0 && maxLoad <= MAX_BELIEVED_LOAD)) {
      throw new FileProblem(`${at}.maxLoad`, `must be a whole number from 0 to ${MAX_BELIEVED_LOAD}`);
    }
    hosts.push(Object.freeze(maxLoad === undefined ? { baseUrl: parsed.baseUrl, weight } : { baseUrl: parsed.baseUrl, weight, maxLoad }));
  });
  return hosts;
}

function health(value: Json, key: string): CdnHealthCheck {
  const fields = object(value, key, ['path', 'intervalMs', 'timeoutMs', 'fall', 'rise']);
  const path = text(fields['path'], `${key}.path`);
  const problem = healthPathProblem(path);
  if (problem) throw new FileProblem(`${key}.path`, problem);
  const s = ROUTING_SCHEMA;
  const orDefault = (name: string, setting: RoutingSetting) =>
    fields[name] === undefined ? (setting.integer?.fallback as number) : integer(fields[name], setting);
  return Object.freeze({
    path,
    intervalMs: orDefault('intervalMs', s.healthIntervalMs),
    timeoutMs: orDefault('timeoutMs', s.healthTimeoutMs),
    fall: orDefault('fall', s.healthFall),
    rise: orDefault('rise', s.healthRise),
  });
}

function load(value: Json, key: string): CdnLoadSettings {
  const fields = object(value, key, ['format', 'path', 'intervalMs']);
  const format = text(fields['format'], `${key}.format`);
  const problem = loadFormatProblem(format);
  if (problem) throw new FileProblem(`${key}.format`, problem);
  const path = text(fields['path'], `${key}.path`);
  const pathProblem = healthPathProblem(path);
  if (pathProblem) throw new FileProblem(`${key}.path`, pathProblem.replace('/healthz', '/nginx_status'));
  return Object.freeze({
    format: format as LoadFormat,
    path,
    intervalMs: fields['intervalMs'] === undefined ? undefined : integer(fields['intervalMs'], ROUTING_SCHEMA.loadIntervalMs, `${key}.intervalMs`),
  });
}

/** least-loaded needs load readings; maxLoad needs them too. */
function checkLoadUse(policyValue: CdnPolicy, hosts: readonly CdnHost[], loadSettings: CdnLoadSettings | undefined, key: string): void {
  if (loadSettings !== undefined) return;
  if (policyValue === 'least-loaded') throw new FileProblem(`${key}.policy`, `least-loaded needs ${key}.load (format and path of each host's status page)`);
  const capped = hosts.findIndex((h) => h.maxLoad !== undefined);
  if (capped >= 0) throw new FileProblem(`${key}.hosts[${capped}].maxLoad`, `needs ${key}.load: without load readings there is nothing to compare it with`);
}

function signing(value: Json, key: string): UrlSigning {
  const fields = object(value, key, ['scheme', 'secretFile', 'ttlSeconds']);
  const scheme = text(fields['scheme'], `${key}.scheme`);
  if (!(SIGNING_SCHEMES as readonly string[]).includes(scheme)) throw new FileProblem(`${key}.scheme`, `expected one of ${SIGNING_SCHEMES.join(', ')}`);
  // Only a file: the routing file is often a ConfigMap, and a secret does not belong in one.
  const secretFile = text(fields['secretFile'], `${key}.secretFile`);
  const secret = readSecretFile(secretFile);
  if ('problem' in secret) throw new FileProblem(`${key}.secretFile`, `${JSON.stringify(secretFile)} ${secret.problem}`);
  const ttl = ROUTING_SCHEMA.signingTtlSeconds;
  return Object.freeze({
    scheme: scheme as SigningScheme,
    secret: new SigningSecret(secret.secret),
    ttlSeconds: fields['ttlSeconds'] === undefined ? (ttl.integer.fallback as number) : integer(fields['ttlSeconds'], ttl),
  });
}

const POOL_KEYS = ['hosts', 'policy', 'health', 'signing', 'load'] as const;
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function policy(value: Json, key: string): CdnPolicy {
  if (!(CDN_POLICIES as readonly Json[]).includes(value)) throw new FileProblem(key, `expected ${CDN_POLICIES.join(', ')}`);
  return value as CdnPolicy;
}

/** `cdn.pools`: name -> { hosts, policy, health, signing }; `default` is required and comes first. */
function pools(value: Json, key: string): CdnPoolSettings[] {
  if (!isObject(value) || Object.keys(value).length === 0) throw new FileProblem(key, 'must be a mapping of pool names to { hosts, policy, health, signing }');
  if (value[DEFAULT_POOL] === undefined) throw new FileProblem(key, `must name a pool "${DEFAULT_POOL}" (it serves every viewer nothing else places)`);
  const seen = new Map<string, string>();
  const result = Object.entries(value).map(([name, entry]) => {
    const at = `${key}.${name}`;
    if (!POOL_NAME.test(name)) throw new FileProblem(at, 'a pool name is letters, digits, ".", "_" and "-", at most 63 characters');
    const fields = object(entry, at, POOL_KEYS);
    if (fields['hosts'] === undefined) throw new FileProblem(`${at}.hosts`, 'is required');
    const hosts = cdnHosts(fields['hosts'], `${at}.hosts`);
    hosts.forEach((host, i) => {
      const other = seen.get(host.baseUrl);
      if (other !== undefined) throw new FileProblem(`${at}.hosts[${i}].host`, `${host.baseUrl} is in pool ${other} too: a host belongs to one pool`);
      seen.set(host.baseUrl, name);
    });
    const pool = Object.freeze({
      name,
      hosts: Object.freeze(hosts),
      policy: fields['policy'] === undefined ? ('weighted' as const) : policy(fields['policy'], `${at}.policy`),
      health: fields['health'] === undefined ? undefined : health(fields['health'], `${at}.health`),
      signing: fields['signing'] === undefined ? undefined : signing(fields['signing'], `${at}.signing`),
      load: fields['load'] === undefined ? undefined : load(fields['load'], `${at}.load`),
    });
    checkLoadUse(pool.policy, pool.hosts, pool.load, at);
    return pool;
  });
  return [...result.filter((p) => p.name === DEFAULT_POOL), ...result.filter((p) => p.name !== DEFAULT_POOL)];
}

function networkList(value: Json, key: string): Array<{ network: Network; key: string }> {
  if (!Array.isArray(value) || value.length === 0) throw new FileProblem(key, 'must be a list of networks in CIDR notation (10.0.0.0/8, 2001:db8::/32)');
  return value.map((entry, i) => {
    const at = `${key}[${i}]`;
    const network = typeof entry === 'string' ? parseNetwork(entry.trim()) : undefined;
    if (network === undefined) throw new FileProblem(at, `${JSON.stringify(entry)} is not a network in CIDR notation (10.0.0.0/8, 2001:db8::/32)`);
    return { network, key: at };
  });
}

function codeMap(value: Json, key: string, codes: ReadonlySet<string>, what: string): Array<{ code: string; pool: string; key: string }> {
  if (!isObject(value)) throw new FileProblem(key, `must be a mapping of ${what} codes to pool names`);
  return Object.entries(value).map(([code, pool]) => {
    const at = `${key}.${code}`;
    if (!codes.has(code)) throw new FileProblem(at, `${JSON.stringify(code)} is not ${what === 'country' ? 'an ISO 3166-1 alpha-2 country code (upper case, e.g. DE)' : `a continent code (${[...codes].join(', ')})`}`);
    return { code, pool: text(pool, at), key: at };
  });
}

function steering(value: Json, key: string): SteeringSettings {
  const fields = object(value, key, ['trustedProxies', 'zones', 'coverageZoneFile', 'geo']);
  const zones = fields['zones'] === undefined ? [] : fields['zones'];
  if (!Array.isArray(zones)) throw new FileProblem(`${key}.zones`, 'must be a list of { name, networks, pool }');
  let geo: SteeringSettings['geo'];
  if (fields['geo'] !== undefined) {
    const g = object(fields['geo'], `${key}.geo`, ['database', 'countries', 'continents']);
    geo = {
      database: text(g['database'], `${key}.geo.database`),
      countries: g['countries'] === undefined ? [] : codeMap(g['countries'], `${key}.geo.countries`, COUNTRY_CODES, 'country'),
      continents: g['continents'] === undefined ? [] : codeMap(g['continents'], `${key}.geo.continents`, CONTINENT_CODES, 'continent'),
    };
  }
  return Object.freeze({
    trustedProxies: fields['trustedProxies'] === undefined ? [] : networkList(fields['trustedProxies'], `${key}.trustedProxies`),
    zones: zones.map((entry, i) => {
      const at = `${key}.zones[${i}]`;
      const zone = object(entry, at, ['name', 'networks', 'pool']);
      return { name: text(zone['name'], `${at}.name`), pool: text(zone['pool'], `${at}.pool`), key: at, networks: networkList(zone['networks'], `${at}.networks`) };
    }),
    coverageZoneFile: fields['coverageZoneFile'] === undefined ? undefined : text(fields['coverageZoneFile'], `${key}.coverageZoneFile`),
    geo,
  });
}

function originHosts(value: Json, key: string): OriginAllowList {
  if (!Array.isArray(value) || value.length === 0) throw new FileProblem(key, 'must be a list of host names or *.suffix wildcards');
  const patterns = value.map((entry, i) => text(entry, `${key}[${i}]`));
  try {
    return new OriginAllowList(patterns);
  } catch (error) {
    throw new FileProblem(key, `expected host names or *.suffix wildcards (${(error as Error).message})`);
  }
}

/**
 * Parses and validates a routing file (YAML). Throws ConfigError('CONFIG_FILE', path, ...) with
 * the key path and what is wrong: `cdn.hosts[1].weight: must be a whole number from 1 to 1000`.
 */
export function parseRoutingFile(path: string, source: string): RoutingFileSettings {
  try {
    const document = parseDocument(source, { uniqueKeys: true });
    const error = document.errors[0];
    if (error) throw new FileProblem(`line ${error.linePos?.[0].line ?? '?'}`, `not valid YAML (${error.message.split('\n')[0]})`);
    const root = document.toJS() as Json;
    if (root === null || root === undefined) throw new FileProblem('(file)', 'is empty; expected the keys cdn, origin and/or steering');
    const top = object(root, '', ['cdn', 'origin', 'steering']);
    const set = new Set<RoutingSettingName>();
    const result: { -readonly [K in keyof RoutingFileSettings]: RoutingFileSettings[K] } = { set };
    if (top['cdn'] !== undefined) {
      const cdn = object(top['cdn'], 'cdn', ['policy', 'hosts', 'health', 'signing', 'load', 'pools']);
      if (cdn['pools'] !== undefined) {
        const single = POOL_KEYS.find((name) => cdn[name] !== undefined);
        if (single !== undefined) throw new FileProblem(`cdn.${single}`, 'cannot be given with cdn.pools: set it in each pool (cdn.pools.NAME.' + single + ')');
        result.pools = Object.freeze(pools(cdn['pools'], 'cdn.pools'));
        for (const name of ['cdnHosts', 'cdnPolicy', 'healthPath', 'healthIntervalMs', 'healthTimeoutMs', 'healthFall', 'healthRise', 'signingScheme', 'signingSecretFile', 'signingTtlSeconds', 'loadFormat', 'loadPath', 'loadIntervalMs'] as const) set.add(name);
      }
      if (cdn['hosts'] !== undefined) {
        result.cdnHosts = Object.freeze(cdnHosts(cdn['hosts'], 'cdn.hosts'));
        set.add('cdnHosts');
      }
      if (cdn['policy'] !== undefined) {
        result.cdnPolicy = policy(cdn['policy'], 'cdn.policy');
        set.add('cdnPolicy');
      }
      if (cdn['health'] !== undefined) {
        result.cdnHealth = health(cdn['health'], 'cdn.health');
        for (const name of ['healthPath', 'healthIntervalMs', 'healthTimeoutMs', 'healthFall', 'healthRise'] as const) set.add(name);
      }
      if (cdn['signing'] !== undefined) {
        result.signing = signing(cdn['signing'], 'cdn.signing');
        for (const name of ['signingScheme', 'signingSecretFile', 'signingTtlSeconds'] as const) set.add(name);
      }
      if (cdn['load'] !== undefined) {
        result.cdnLoad = load(cdn['load'], 'cdn.load');
        for (const name of ['loadFormat', 'loadPath', 'loadIntervalMs'] as const) set.add(name);
      }
    }
    if (top['steering'] !== undefined) result.steering = steering(top['steering'], 'steering');
    if (top['origin'] !== undefined) {
      const origin = object(top['origin'], 'origin', ['every', 'hosts']);
      if (origin['every'] !== undefined) {
        result.originEvery = integer(origin['every'], ROUTING_SCHEMA.originEvery);
        set.add('originEvery');
      }
      if (origin['hosts'] !== undefined) {
        result.originAllowList = originHosts(origin['hosts'], 'origin.hosts');
        set.add('originHosts');
      }
    }
    return Object.freeze(result);
  } catch (error) {
    if (error instanceof FileProblem) throw new ConfigError('CONFIG_FILE', path, error.message);
    throw error;
  }
}
