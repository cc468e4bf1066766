import { ConfigError } from './config-error.js';
import { ROUTING_SCHEMA, type RoutingSetting } from './routing-schema.js';

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

/** Reads the variable of a whole-number setting of ROUTING_SCHEMA, within its range. */
export type ReadInteger = (setting: RoutingSetting) => number;

/** A health-check path: starts with /, printable ASCII, no fragment; undefined when it is fine. */
export function healthPathProblem(path: string): string | undefined {
  return /^\/[!-~]*$/.test(path) && !path.includes('#') ? undefined : 'expected a path starting with /, e.g. /healthz (printable ASCII, no fragment)';
}

export function loadCdnHealthCheck(path: string | undefined, readInteger: ReadInteger): CdnHealthCheck | undefined {
  if (path === undefined) return undefined;
  const problem = healthPathProblem(path);
  if (problem) throw new ConfigError('CDN_HEALTH_PATH', path, problem);
  return Object.freeze({
    path,
    intervalMs: readInteger(ROUTING_SCHEMA.healthIntervalMs),
    timeoutMs: readInteger(ROUTING_SCHEMA.healthTimeoutMs),
    fall: readInteger(ROUTING_SCHEMA.healthFall),
    rise: readInteger(ROUTING_SCHEMA.healthRise),
  });
}
