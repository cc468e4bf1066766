import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { formatNetwork, NetworkTable, parseNetwork, type Network } from '../routing/steering/network-table.js';
import type { SteeringRule, ZoneTarget } from '../routing/steering/steering.js';
import { ConfigError } from './config-error.js';
import { loadGeoDatabase, type GeoDatabaseInfo } from './geo-database.js';
import type { SteeringSettings } from './routing-file.js';

/** The steering of a routing: the rule the router decides with, and what the edges and operators need. */
export interface SteeringConfig extends SteeringRule {
  /** `steering.trustedProxies`: peers whose forwarding headers are believed. */
  readonly trustedProxies: NetworkTable<true>;
  /** The files it was built from besides the routing file, to watch for changes. */
  readonly files: readonly string[];
  /** As plain data, for logs, `check-config` and the routing's identifier (files by their hash). */
  readonly description: Record<string, unknown>;
}

/** A Traffic Router coverage zone file is a few MB at most; a larger file is refused rather than parsed. */
const MAX_COVERAGE_ZONE_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Builds the steering of a routing file: zones from `steering.zones` and the coverage zone file
 * in one table (the most specific network wins; one network may not go to two pools), the
 * geolocation database and its country and continent maps, the trusted proxies. Throws a
 * ConfigError naming the routing file and the key (or the other file and its key).
 */
export function loadSteering(settings: SteeringSettings, poolIndex: ReadonlyMap<string, number>, routingFile: string): SteeringConfig {
  const fail = (key: string, problem: string): never => {
    throw new ConfigError('CONFIG_FILE', routingFile, `${key}: ${problem}`);
  };
  const poolOf = (name: string, key: string): number => poolIndex.get(name) ?? fail(key, `names no pool ${JSON.stringify(name)} (pools: ${[...poolIndex.keys()].join(', ')})`);

  const zones = new NetworkTable<ZoneTarget & { key: string }>();
  const addZoneNetwork = (network: Network, target: ZoneTarget, key: string) => {
    const existing = zones.add(network, { ...target, key });
    if (existing && existing.value.pool !== target.pool) {
      fail(key, `${formatNetwork(network)} is also ${existing.value.key} (zone ${existing.value.zone}): one network cannot go to two pools`);
    }
  };
  for (const zone of settings.zones) {
    const pool = poolOf(zone.pool, `${zone.key}.pool`);
    for (const { network, key } of zone.networks) addZoneNetwork(network, { zone: zone.name, pool }, key);
  }

  let coverageZones: Record<string, unknown> | undefined;
  const files: string[] = [];
  if (settings.coverageZoneFile !== undefined) {
    const path = settings.coverageZoneFile;
    const key = 'steering.coverageZoneFile';
    files.push(path);
    let text: string;
    try {
      const bytes = readFileSync(path);
      if (bytes.length > MAX_COVERAGE_ZONE_FILE_BYTES) fail(key, `${JSON.stringify(path)} is ${bytes.length} bytes, more than ${MAX_COVERAGE_ZONE_FILE_BYTES}`);
      text = bytes.toString('utf8');
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      return fail(key, `${JSON.stringify(path)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const at = (inner: string) => `${key} ${JSON.stringify(path)}, ${inner}`;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return fail(key, `${JSON.stringify(path)} is not JSON (${(error as Error).message})`);
    }
    const czf = (json as { coverageZones?: unknown } | null)?.coverageZones;
    if (typeof czf !== 'object' || czf === null || Array.isArray(czf)) return fail(at('coverageZones'), 'must be a mapping of zone names to { network, network6 }');
    let networks = 0;
    for (const [name, zone] of Object.entries(czf as Record<string, unknown>)) {
      const pool = poolIndex.get(name) ?? fail(at(`coverageZones.${name}`), `has no pool of the same name in cdn.pools (pools: ${[...poolIndex.keys()].join(', ')})`);
      for (const field of ['network', 'network6'] as const) {
        const list = (zone as Record<string, unknown> | null)?.[field] ?? [];
        if (!Array.isArray(list)) return fail(at(`coverageZones.${name}.${field}`), 'must be a list of networks in CIDR notation');
        list.forEach((entry: unknown, i) => {
          const network = typeof entry === 'string' ? parseNetwork(entry.trim()) : undefined;
          const where = at(`coverageZones.${name}.${field}[${i}]`);
          if (network === undefined || (network.address.family === 6) !== (field === 'network6')) {
            fail(where, `${JSON.stringify(entry)} is not an IPv${field === 'network' ? 4 : 6} network in CIDR notation`);
          }
          addZoneNetwork(network as Network, { zone: name, pool }, where);
          networks++;
        });
      }
    }
    coverageZones = { path, zones: Object.keys(czf).length, networks, sha256: createHash('sha256').update(text).digest('hex').slice(0, 12) };
  }

  let geo: SteeringRule['geo'];
  let geoInfo: GeoDatabaseInfo | undefined;
  const countries = new Map<string, number>();
  const continents = new Map<string, number>();
  if (settings.geo) {
    const database = loadGeoDatabase(settings.geo.database);
    if ('problem' in database) return fail('steering.geo.database', `${JSON.stringify(settings.geo.database)} ${database.problem}`);
    files.push(settings.geo.database);
    geo = database.lookup;
    geoInfo = database.info;
    for (const { code, pool, key } of settings.geo.countries) countries.set(code, poolOf(pool, key));
    for (const { code, pool, key } of settings.geo.continents) continents.set(code, poolOf(pool, key));
  }

  const trustedProxies = new NetworkTable<true>();
  for (const { network } of settings.trustedProxies) trustedProxies.add(network, true);

  const poolNames = [...poolIndex.keys()];
  const description = {
    trustedProxies: settings.trustedProxies.map(({ network }) => formatNetwork(network)),
    zones: settings.zones.map((zone) => ({ name: zone.name, pool: zone.pool, networks: zone.networks.map(({ network }) => formatNetwork(network)) })),
    coverageZoneFile: coverageZones ?? null,
    geo: settings.geo
      ? {
          database: geoInfo,
          countries: Object.fromEntries([...countries].map(([code, pool]) => [code, poolNames[pool]])),
          continents: Object.fromEntries([...continents].map(([code, pool]) => [code, poolNames[pool]])),
        }
      : null,
  };
  return Object.freeze({ zones, geo, countries, continents, trustedProxies, files: Object.freeze(files), description });
}
