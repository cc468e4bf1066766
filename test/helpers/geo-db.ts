import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './service-process.js';

const WRITER = join(PROJECT_ROOT, 'test/fixtures/write-geo-db.pl');

/** Whether Debian's libmaxmind-db-writer-perl is installed (.ci/run installs it). */
export function geoDbWriterAvailable(): boolean {
  return spawnSync('perl', ['-MMaxMind::DB::Writer::Tree', '-e', '1'], { stdio: 'ignore' }).status === 0;
}

/**
 * Writes a real MaxMind DB file (GeoLite2-Country layout) with MaxMind's own writer:
 * `NETWORK=COUNTRY/CONTINENT` entries, or by default 127.0.1.0/24 US/NA, 127.0.2.0/24 DE/EU,
 * 127.0.3.0/24 FR/EU, 127.0.4.0/24 JP/AS, 2001:db8:1::/48 US/NA, 2001:db8:2::/48 DE/EU.
 */
export function writeGeoDb(path: string, entries: readonly string[] = []): string {
  execFileSync('perl', [WRITER, path, ...entries], { stdio: ['ignore', 'ignore', 'pipe'] });
  return path;
}
