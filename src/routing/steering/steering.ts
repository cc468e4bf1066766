import type { IpAddress } from './ip-address.js';
import type { Network, NetworkTable } from './network-table.js';

/** How a viewer's pool was chosen, in the order they are tried. */
export const STEERING_METHODS = ['zone', 'country', 'continent', 'default'] as const;
export type SteeringMethod = (typeof STEERING_METHODS)[number];

/** What a geolocation database says of an address: ISO 3166 country code, continent code. */
export interface GeoLocation {
  readonly country: string | undefined;
  readonly continent: string | undefined;
}

export type GeoLookup = (address: IpAddress) => GeoLocation | undefined;

/** A coverage zone: its name and the index of the pool that serves it. */
export interface ZoneTarget {
  readonly zone: string;
  readonly pool: number;
}

/**
 * Which pool serves which viewers, compiled: zones (from the routing file and a Traffic Router
 * coverage zone file, one table), then the viewer's country, then its continent, from a
 * geolocation database. Pool 0 is the default pool. Built by configuration, frozen, replaced
 * whole with the routing.
 */
export interface SteeringRule {
  /** Peers whose forwarding headers the edges believe (`steering.trustedProxies`). */
  readonly trustedProxies: NetworkTable<true>;
  readonly zones: NetworkTable<ZoneTarget>;
  readonly geo: GeoLookup | undefined;
  readonly countries: ReadonlyMap<string, number>;
  readonly continents: ReadonlyMap<string, number>;
}

/** Why a viewer gets its pool: the method, and what matched. */
export interface SteeringDecision {
  readonly pool: number;
  readonly method: SteeringMethod;
  readonly zone?: string;
  readonly network?: Network;
  readonly country?: string;
  readonly continent?: string;
}

export const DEFAULT_DECISION: SteeringDecision = Object.freeze({ pool: 0, method: 'default' });

/**
 * The pool of a viewer at `address` (undefined: not known, the default pool): the most
 * specific zone network that holds it; else its country's pool; else its continent's; else the
 * default. Pure: no I/O beyond the database already in memory.
 */
export function steer(rule: SteeringRule, address: IpAddress | undefined): SteeringDecision {
  if (address === undefined) return DEFAULT_DECISION;
  const zone = rule.zones.lookup(address);
  if (zone !== undefined) return { pool: zone.value.pool, method: 'zone', zone: zone.value.zone, network: zone.network };
  if (rule.geo === undefined) return DEFAULT_DECISION;
  const location = rule.geo(address);
  if (location === undefined) return DEFAULT_DECISION;
  const byCountry = location.country === undefined ? undefined : rule.countries.get(location.country);
  if (byCountry !== undefined) return { pool: byCountry, method: 'country', country: location.country };
  const byContinent = location.continent === undefined ? undefined : rule.continents.get(location.continent);
  if (byContinent !== undefined) return { pool: byContinent, method: 'continent', country: location.country, continent: location.continent };
  return { ...DEFAULT_DECISION, country: location.country, continent: location.continent };
}
