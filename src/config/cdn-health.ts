import { ConfigError } from './config-error.js';

/** CDN_HEALTH_*: how the CDN hosts are health-checked; undefined = no checks (every host is always up). */
export interface CdnHealthCheck {
  /** Asked as `GET <host base URL><path>`. */
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Failures in a row that make a host down (HAProxy's `fall`). */
  readonly fall: number;
  /** Successes in a row that make a down host up again (HAProxy's `rise`). */
  readonly rise: number;
}

export type ReadInteger = (name: string, fallback: number, min: number, max: number, meaning: string) => number;

export function loadCdnHealthCheck(path: string | undefined, readInteger: ReadInteger): CdnHealthCheck | undefined {
  if (path === undefined) return undefined;
  if (!/^\/[!-~]*$/.test(path) || path.includes('#')) {
    throw new ConfigError('CDN_HEALTH_PATH', path, 'expected a path starting with /, e.g. /healthz (printable ASCII, no fragment)');
  }
  return Object.freeze({
    path,
    intervalMs: readInteger('CDN_HEALTH_INTERVAL_MS', 2000, 100, 3_600_000, '(milliseconds)'),
    timeoutMs: readInteger('CDN_HEALTH_TIMEOUT_MS', 1000, 1, 60_000, '(milliseconds)'),
    fall: readInteger('CDN_HEALTH_FALL', 2, 1, 100, '(failed checks in a row)'),
    rise: readInteger('CDN_HEALTH_RISE', 2, 1, 100, '(successful checks in a row)'),
  });
}
