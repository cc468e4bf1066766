/**
 * The routing settings, each once: its key in the routing file (CONFIG_FILE), the environment
 * variable that sets it otherwise, and for whole numbers their range and default. Both sources
 * are validated against this table, and a setting that both give is refused by it.
 */
export interface IntegerSetting {
  readonly min: number;
  readonly max: number;
  readonly fallback: number;
  /** What the number means, after the range in an error: `(milliseconds)`. */
  readonly meaning: string;
}

export interface RoutingSetting {
  /** Where the file sets it, as an error names it. */
  readonly key: string;
  /** The variables that set it in the environment. */
  readonly variables: readonly string[];
  readonly integer?: IntegerSetting;
}

export const MAX_CDN_WEIGHT = 1000;

export const ROUTING_SCHEMA = Object.freeze({
  cdnHosts: { key: 'cdn.hosts', variables: ['CDN_HOST', 'CDN_HOSTS'] },
  cdnPolicy: { key: 'cdn.policy', variables: ['CDN_POLICY'] },
  healthPath: { key: 'cdn.health.path', variables: ['CDN_HEALTH_PATH'] },
  healthIntervalMs: {
    key: 'cdn.health.intervalMs',
    variables: ['CDN_HEALTH_INTERVAL_MS'],
    integer: { min: 100, max: 3_600_000, fallback: 2000, meaning: '(milliseconds)' },
  },
  healthTimeoutMs: {
    key: 'cdn.health.timeoutMs',
    variables: ['CDN_HEALTH_TIMEOUT_MS'],
    integer: { min: 1, max: 60_000, fallback: 1000, meaning: '(milliseconds)' },
  },
  healthFall: { key: 'cdn.health.fall', variables: ['CDN_HEALTH_FALL'], integer: { min: 1, max: 100, fallback: 2, meaning: '(failed checks in a row)' } },
  healthRise: { key: 'cdn.health.rise', variables: ['CDN_HEALTH_RISE'], integer: { min: 1, max: 100, fallback: 2, meaning: '(successful checks in a row)' } },
  loadFormat: { key: 'cdn.load.format', variables: ['CDN_LOAD_FORMAT'] },
  loadPath: { key: 'cdn.load.path', variables: ['CDN_LOAD_PATH'] },
  loadIntervalMs: {
    key: 'cdn.load.intervalMs',
    variables: ['CDN_LOAD_INTERVAL_MS'],
    integer: { min: 100, max: 3_600_000, fallback: 2000, meaning: '(milliseconds; default: the health checks\' interval)' },
  },
  signingScheme: { key: 'cdn.signing.scheme', variables: ['CDN_SIGNING'] },
  signingSecretFile: { key: 'cdn.signing.secretFile', variables: ['CDN_SIGNING_SECRET', 'CDN_SIGNING_SECRET_FILE'] },
  signingTtlSeconds: {
    key: 'cdn.signing.ttlSeconds',
    variables: ['CDN_SIGNING_TTL_S'],
    integer: { min: 1, max: 31_536_000, fallback: 3600, meaning: '(seconds a signed URL stays valid)' },
  },
  originEvery: {
    key: 'origin.every',
    variables: ['ORIGIN_EVERY'],
    integer: { min: 0, max: 1_000_000_000, fallback: 10, meaning: '(0 = never, 1 = every call)' },
  },
  originHosts: { key: 'origin.hosts', variables: ['ORIGIN_HOSTS'] },
} satisfies Record<string, RoutingSetting>);

export type RoutingSettingName = keyof typeof ROUTING_SCHEMA;

/** The text of a range error, the same for a variable and a file key. */
export function rangeProblem({ min, max, meaning }: IntegerSetting): string {
  return `must be a whole number from ${min} to ${max} ${meaning}`;
}
