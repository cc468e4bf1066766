import { LOAD_FORMATS, type LoadFormat } from '../cdn-health/cache-load.js';
import { ConfigError } from './config-error.js';
import type { ReadInteger } from './cdn-health.js';
import { ROUTING_SCHEMA } from './routing-schema.js';

/** How a pool's caches are asked for their load (`cdn.load`, CDN_LOAD_*). */
export interface CdnLoadSettings {
  readonly format: LoadFormat;
  /** Asked as `GET <host base URL><path>`: where the cache serves its status page. */
  readonly path: string;
  /** How often; undefined = the health checks' interval (or its default). */
  readonly intervalMs: number | undefined;
}

export function loadFormatProblem(format: string): string | undefined {
  return (LOAD_FORMATS as readonly string[]).includes(format) ? undefined : `expected ${LOAD_FORMATS.join(' or ')}`;
}

/** CDN_LOAD_FORMAT (turns load readings on), CDN_LOAD_PATH (required with it), CDN_LOAD_INTERVAL_MS. */
export function loadCdnLoad(format: string | undefined, path: string | undefined, intervalMs: string | undefined, readInteger: ReadInteger): CdnLoadSettings | undefined {
  if (format === undefined) {
    if (path !== undefined) throw new ConfigError('CDN_LOAD_PATH', path, 'is set without CDN_LOAD_FORMAT, which says how to read the page');
    return undefined;
  }
  const problem = loadFormatProblem(format);
  if (problem) throw new ConfigError('CDN_LOAD_FORMAT', format, problem);
  if (path === undefined) throw new ConfigError('CDN_LOAD_FORMAT', format, 'needs CDN_LOAD_PATH, the path of the status page (e.g. /nginx_status, /_stats)');
  if (!/^\/[!-~]*$/.test(path) || path.includes('#')) throw new ConfigError('CDN_LOAD_PATH', path, 'expected a path starting with /, e.g. /nginx_status (printable ASCII, no fragment)');
  return Object.freeze({ format: format as LoadFormat, path, intervalMs: intervalMs === undefined ? undefined : readInteger(ROUTING_SCHEMA.loadIntervalMs) });
}
