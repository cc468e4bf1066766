import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Reader, type Response } from 'mmdb-lib';
import type { GeoLocation, GeoLookup } from '../routing/steering/steering.js';

/** Decoded records kept per worker: a Country database has a few hundred, a City one millions. */
const CACHED_RECORDS = 4096;
/**
 * Answers kept per /24 (IPv4) or /48 (IPv6), when the database says its network is at least that
 * wide (as nearly all of a Country database's are): the viewers of one network share one lookup.
 */
const CACHED_NETWORKS = 65_536;

/** What a geolocation database is, for logs and `check-config`. */
export interface GeoDatabaseInfo {
  readonly path: string;
  readonly databaseType: string;
  readonly buildEpoch: string;
  readonly bytes: number;
  /** SHA-256 of the file (12 hex digits): a new file is a new routing. */
  readonly sha256: string;
}

export interface GeoDatabase {
  readonly lookup: GeoLookup;
  readonly info: GeoDatabaseInfo;
}

type CountryRecord = Response & { country?: { iso_code?: string }; registered_country?: { iso_code?: string }; continent?: { code?: string } };

/**
 * A MaxMind DB file (GeoLite2/GeoIP2 Country or City, or DB-IP's Lite databases in the same
 * layout), read whole into memory with mmdb-lib, the reader MaxMind's own Node.js library uses.
 * Only `country.iso_code` (else `registered_country.iso_code`) and `continent.code` are used.
 * Returns what is wrong instead when the file cannot be read or is not a MaxMind DB.
 */
export function loadGeoDatabase(path: string): GeoDatabase | { problem: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  let reader: Reader<CountryRecord>;
  try {
    // A bounded cache of decoded records, keyed by their offset in the file.
    const cache = new Map<string | number, unknown>();
    reader = new Reader<CountryRecord>(bytes, {
      cache: {
        get: (key) => cache.get(key),
        set: (key, value) => {
          if (cache.size >= CACHED_RECORDS) cache.clear();
          cache.set(key, value);
        },
      },
    });
  } catch (error) {
    return { problem: `is not a MaxMind DB file (${(error as Error).message.split('\n')[0]})` };
  }
  const byNetwork = new Map<number | string, GeoLocation | null>();
  const lookup: GeoLookup = (address) => {
    const [first = 0, second = 0] = address.words;
    const key = address.family === 4 ? first >>> 8 : `${first},${second >>> 16}`;
    const cached = byNetwork.get(key);
    if (cached !== undefined) return cached ?? undefined;
    let record: CountryRecord | null;
    let prefixLength: number;
    try {
      [record, prefixLength] = reader.getWithPrefixLength(address.text);
    } catch {
      // An IPv6 address against an IPv4-only database, for one.
      return undefined;
    }
    const location = record === null ? null : { country: record.country?.iso_code ?? record.registered_country?.iso_code, continent: record.continent?.code };
    // The answer holds for the whole network the lookup ended in: kept when that spans the key's.
    if (prefixLength <= (address.family === 4 ? 24 : 48)) {
      if (byNetwork.size >= CACHED_NETWORKS) byNetwork.clear();
      byNetwork.set(key, location);
    }
    return location ?? undefined;
  };
  return {
    lookup,
    info: Object.freeze({
      path,
      databaseType: reader.metadata.databaseType,
      buildEpoch: reader.metadata.buildEpoch.toISOString(),
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex').slice(0, 12),
    }),
  };
}
