import { parseDocument } from 'yaml';
import { OriginAllowList } from '../routing/origin-allow-list.js';
import type { CdnHost, CdnPolicy } from '../routing/cdn-pool.js';
import type { UrlSigning } from '../routing/signing/create-url-signer.js';
import { SIGNING_SCHEMES, SigningSecret, type SigningScheme } from '../routing/signing/url-signer.js';
import { parseCdnBaseUrl } from './cdn-base-url.js';
import { healthPathProblem, type CdnHealthCheck } from './cdn-health.js';
import { readSecretFile } from './cdn-signing.js';
import { ConfigError } from './config-error.js';
import { MAX_CDN_WEIGHT, rangeProblem, ROUTING_SCHEMA, type RoutingSetting, type RoutingSettingName } from './routing-schema.js';

/** What a routing file sets: only the settings it names, and which those are. */
export interface RoutingFileSettings {
  readonly set: ReadonlySet<RoutingSettingName>;
  readonly cdnHosts?: readonly CdnHost[];
  readonly cdnPolicy?: CdnPolicy;
  readonly cdnHealth?: CdnHealthCheck;
  readonly signing?: UrlSigning;
  readonly originEvery?: number;
  readonly originAllowList?: OriginAllowList;
}

/** A problem at a key of the file: ConfigError('CONFIG_FILE', path, 'cdn.hosts[1].weight: ...'). */
class FileProblem extends Error {
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
    const fields = typeof entry === 'string' ? { host: entry } : object(entry, at, ['host', 'weight']);
    const host = text(fields['host'], `${at}.host`);
    const parsed = parseCdnBaseUrl(host);
    if ('problem' in parsed) throw new FileProblem(`${at}.host`, parsed.problem);
    const weight = fields['weight'] ?? 1;
    if (!(typeof weight === 'number' && Number.isInteger(weight) && weight >= 1 && weight <= MAX_CDN_WEIGHT)) {
      throw new FileProblem(`${at}.weight`, `must be a whole number from 1 to ${MAX_CDN_WEIGHT}`);
    }
    if (hosts.some((h) => h.baseUrl === parsed.baseUrl)) throw new FileProblem(`${at}.host`, `${JSON.stringify(host)} is listed twice`);
    hosts.push(Object.freeze({ baseUrl: parsed.baseUrl, weight }));
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
    if (root === null || root === undefined) throw new FileProblem('(file)', 'is empty; expected the keys cdn and/or origin');
    const top = object(root, '', ['cdn', 'origin']);
    const set = new Set<RoutingSettingName>();
    const result: { -readonly [K in keyof RoutingFileSettings]: RoutingFileSettings[K] } = { set };
    if (top['cdn'] !== undefined) {
      const cdn = object(top['cdn'], 'cdn', ['policy', 'hosts', 'health', 'signing']);
      if (cdn['hosts'] !== undefined) {
        result.cdnHosts = Object.freeze(cdnHosts(cdn['hosts'], 'cdn.hosts'));
        set.add('cdnHosts');
      }
      if (cdn['policy'] !== undefined) {
        if (cdn['policy'] !== 'weighted' && cdn['policy'] !== 'hash') throw new FileProblem('cdn.policy', 'expected weighted or hash');
        result.cdnPolicy = cdn['policy'];
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
    }
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
