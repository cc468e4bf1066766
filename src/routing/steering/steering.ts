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

/** What a zone network decides, made once per network so that a lookup allocates nothing. */
const kDecision = Symbol('decision');
type ZoneEntry = ZoneTarget & { [kDecision]?: SteeringDecision };

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
  if (zone !== undefined) {
    const entry = zone.value as ZoneEntry;
    return (entry[kDecision] ??= Object.freeze({ pool: entry.pool, method: 'zone', zone: entry.zone, network: zone.network }));
  }
  if (rule.geo === undefined) return DEFAULT_DECISION;
  const location = rule.geo(address);
  if (location === undefined) return DEFAULT_DECISION;
  return geoDecision(rule, location.country, location.continent);
}

/** Decisions by country and continent, made once per rule and pair. */
const geoDecisions = new WeakMap<SteeringRule, Map<string, SteeringDecision>>();

function geoDecision(rule: SteeringRule, country: string | undefined, continent: string | undefined): SteeringDecision {
  let decisions = geoDecisions.get(rule);
  if (decisions === undefined) {
    decisions = new Map();
    geoDecisions.set(rule, decisions);
  }
  const key = `${country ?? ''}/${continent ?? ''}`;
  let decision = decisions.get(key);
  if (decision === undefined) {
    const byCountry = country === undefined ? undefined : rule.countries.get(country);
    const byContinent = continent === undefined ? undefined : rule.continents.get(continent);
    decision = Object.freeze(
      byCountry !== undefined
        ? { pool: byCountry, method: 'country' as const, country }
        : byContinent !== undefined
          ? { pool: byContinent, method: 'continent' as const, country, continent }
          : { ...DEFAULT_DECISION, country, continent },
    );
    // Country and continent codes are a few hundred pairs at most.
    decisions.set(key, decision);
  }
  return decision;
}
