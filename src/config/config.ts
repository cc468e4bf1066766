import { readFileSync } from 'node:fs';
import type { ReadInteger } from './cdn-health.js';
import { ConfigError } from './config-error.js';
import { describeRouting, loadRouting, type RoutingConfig } from './routing-config.js';
import type { RoutingSetting } from './routing-schema.js';
import { HTTP_TLS_VARIABLES, loadTlsFiles, type TlsFiles } from './tls-files.js';
import { defaultWorkerCount, type WorkerCount } from '../runtime/cpu-quota.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The service's whole configuration, read from the environment (and CONFIG_FILE) once and frozen.
 * `routing` is what a reload may replace; everything else is fixed for the life of the process.
 */
export interface Config {
  /** CDN pool, health checks, signing, origin rotation and allow-list: see routing-config.ts. */
  readonly routing: RoutingConfig;
  /** CONFIG_FILE: the routing file, reloaded on SIGHUP and when it changes; undefined = routing from the environment. */
  readonly configFile: string | undefined;
  readonly grpcHost: string;
  readonly grpcPort: number;
  readonly workers: number;
  /** Where `workers` came from: WORKERS, the cgroup's CPU quota, or the available cores. */
  readonly workersFrom: string;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
  /** The longest wait before replacing a worker that keeps dying; 0 = always at once. */
  readonly restartBackoffMaxMs: number;
  readonly connection: ConnectionLimits;
  /** Node/V8 flags the supervisor starts workers with (chosen by bench/compare-v8-flags.sh). */
  readonly workerNodeFlags: readonly string[];
  /** HOT_PATH: answer Redirect on the HTTP/2 stream beside grpc-js (on), or through grpc-js (off). */
  readonly hotPath: boolean;
  /** The HTTP 302 front door (`GET /redirect?video=`) on GRPC_HOST; 0 = off. */
  readonly httpPort: number;
  /** The front door's TLS, CORS and limits. */
  readonly http: FrontDoorConfig;
  /** Where `/metrics` and `/healthz` are served; port 0 = off. */
  readonly metricsHost: string;
  readonly metricsPort: number;
  /** TLS on the gRPC port; undefined = plaintext. */
  readonly tls: TlsFiles | undefined;
  /** OpenTelemetry tracing: on when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  readonly tracing: { readonly endpoint: string; readonly serviceName: string } | undefined;
  /** Set when pm2 runs this process (pm2 sets `pm_id` and `NODE_APP_INSTANCE`). */
  readonly pm2: { readonly id: string; readonly instance: number } | undefined;
}

/** The HTTP front door for players: HTTPS (HTTP/2 and HTTP/1.1) or plain HTTP/1.1, CORS, limits. */
export interface FrontDoorConfig {
  /** HTTP_TLS_CERT_FILE / HTTP_TLS_KEY_FILE: HTTPS with HTTP/2 and HTTP/1.1 by ALPN; undefined = plain HTTP/1.1. */
  readonly tls: TlsFiles | undefined;
  /** HTTP_CORS_ORIGINS: `*`, or the origins allowed to read its answers. */
  readonly corsOrigins: '*' | readonly string[];
  /** HTTP_HEADERS_TIMEOUT_MS: how long a client may take to send its request headers (and its TLS handshake). */
  readonly headersTimeoutMs: number;
  /** HTTP_KEEPALIVE_TIMEOUT_MS: how long an idle HTTP/1.1 connection (or HTTP/2 session) stays open. */
  readonly keepAliveTimeoutMs: number;
  /** HTTP_MAX_CONNECTIONS: connections one worker holds at most on the front door. */
  readonly maxConnections: number;
}

/** How long connections may live and idle; see the README's security section. */
export interface ConnectionLimits {
  /** Ping a connection this often; 0 = never. */
  readonly keepaliveTimeMs: number;
  /** Close a connection whose ping is not answered within this time. */
  readonly keepaliveTimeoutMs: number;
  /** Close (GOAWAY) a connection with no call for this long; 0 = never. */
  readonly maxConnectionIdleMs: number;
  /** Close (GOAWAY) every connection after this long, so clients spread again; 0 = never. */
  readonly maxConnectionAgeMs: number;
  /** After MAX_CONNECTION_AGE_MS, how long calls in flight may still finish. */
  readonly maxConnectionAgeGraceMs: number;
  /** Calls one connection may have open at once. */
  readonly maxConcurrentStreams: number;
  /** Connections one worker holds at most; past it, new ones are closed at accept. */
  readonly maxConnections: number;
  /** The largest header list a call may send (HPACK-counted: name + value + 32 per field). */
  readonly maxHeaderListBytes: number;
}

const DAY_MS = 86_400_000;

/**
 * Connections per worker: an idle HTTP/2 connection holds about 15 KiB of a worker (measured with
 * bench/h2-attacks.ts, docs/security.md), so 4,096 of them take 60 MiB, inside a worker's 150 MB
 * beside its working set.
 */
export const DEFAULT_MAX_CONNECTIONS = 4096;

/**
 * nginx's default (128): twice what the busiest known caller (ghz, 50 at once) keeps open, and
 * an eighth of what a peer that never reads its answers (CVE-2019-9517) or opens a 1-byte
 * window (9511) could make a worker set up before the excess is refused and the connection cut.
 */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 128;

/**
 * Node 24's V8 grows the young generation to about twice Node 20's peak RSS (272 MiB per worker
 * under load); 2 MiB semi-spaces keep a worker at 143 MiB at no measurable CPU cost. Without
 * allocation-site pretenuring a finished call's objects die young instead of being allocated
 * straight into the old generation (promoted bytes per call 1,419 -> 232), and a 50% heap growth
 * keeps the then rarer mark-compacts small (peak RSS 108 MiB). docs/performance.md has the
 * measurements; ecosystem.config.cjs gives pm2 the same.
 */
export const DEFAULT_WORKER_NODE_FLAGS = '--max-semi-space-size=2 --no-allocation-site-pretenuring --heap-growing-percent=50';

/** Every variable the service reads: the documentation and deployment files are checked against it. */
export const CONFIG_VARIABLES = Object.freeze([
  'CONFIG_FILE',
  'CDN_HOST',
  'CDN_HOSTS',
  'CDN_POLICY',
  'CDN_HEALTH_PATH',
  'CDN_HEALTH_INTERVAL_MS',
  'CDN_HEALTH_TIMEOUT_MS',
  'CDN_HEALTH_FALL',
  'CDN_HEALTH_RISE',
  'CDN_LOAD_FORMAT',
  'CDN_LOAD_PATH',
  'CDN_LOAD_INTERVAL_MS',
  'CDN_SIGNING',
  'CDN_SIGNING_SECRET',
  'CDN_SIGNING_SECRET_FILE',
  'CDN_SIGNING_TTL_S',
  'ORIGIN_EVERY',
  'ORIGIN_HOSTS',
  'GRPC_HOST',
  'GRPC_PORT',
  'WORKERS',
  'LOG_LEVEL',
  'SHUTDOWN_TIMEOUT_MS',
  'RESTART_BACKOFF_MAX_MS',
  'KEEPALIVE_TIME_MS',
  'KEEPALIVE_TIMEOUT_MS',
  'MAX_CONNECTION_IDLE_MS',
  'MAX_CONNECTION_AGE_MS',
  'MAX_CONNECTION_AGE_GRACE_MS',
  'MAX_CONCURRENT_STREAMS',
  'MAX_CONNECTIONS',
  'MAX_HEADER_LIST_BYTES',
  'WORKER_NODE_FLAGS',
  'HOT_PATH',
  'HTTP_PORT',
  'HTTP_TLS_CERT_FILE',
  'HTTP_TLS_KEY_FILE',
  'HTTP_CORS_ORIGINS',
  'HTTP_HEADERS_TIMEOUT_MS',
  'HTTP_KEEPALIVE_TIMEOUT_MS',
  'HTTP_MAX_CONNECTIONS',
  'METRICS_HOST',
  'METRICS_PORT',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
  'TLS_CA_FILE',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_SERVICE_NAME',
] as const);

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates every variable, and the routing file when CONFIG_FILE names one (its text
 * can be given instead, as a cluster worker gets it from the primary). Throws {@link ConfigError}
 * naming the first bad variable or file key. An empty variable counts as unset.
 */
export function loadConfig(env: Environment, routingFileText?: string, workerDefault: () => WorkerCount = defaultWorkerCount): Config {
  const optional = (name: (typeof CONFIG_VARIABLES)[number]): string | undefined => (env[name] === '' ? undefined : env[name]);
  const read = (name: (typeof CONFIG_VARIABLES)[number], fallback: string): string => optional(name) ?? fallback;

  const grpcHost = readListenHost(read, 'GRPC_HOST');

  const metricsHost = readListenHost(read, 'METRICS_HOST');

  const logLevel = read('LOG_LEVEL', 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', logLevel, `expected one of ${LOG_LEVELS.join(', ')}`);
  }

  const workerNodeFlagsText = read('WORKER_NODE_FLAGS', DEFAULT_WORKER_NODE_FLAGS);
  const workerNodeFlags = workerNodeFlagsText === 'none' ? [] : workerNodeFlagsText.trim().split(/\s+/);
  if (!workerNodeFlags.every((flag) => /^--[a-z0-9-]+(=[\w.,:/-]+)?$/.test(flag))) {
    throw new ConfigError('WORKER_NODE_FLAGS', workerNodeFlagsText, 'expected space-separated --flag[=value] options, or none');
  }

  const hotPath = read('HOT_PATH', 'on');
  if (hotPath !== 'on' && hotPath !== 'off') throw new ConfigError('HOT_PATH', hotPath, 'expected on or off');

  const workerCount = optional('WORKERS') === undefined ? workerDefault() : undefined;

  const configFile = optional('CONFIG_FILE');
  const routing = loadRouting(env, configFile === undefined ? undefined : { path: configFile, text: routingFileText ?? readRoutingFile(configFile) }, routingInteger(env));

  return Object.freeze({
    routing,
    configFile,
    grpcHost,
    grpcPort: readInteger(read, 'GRPC_PORT', 50051, 0, 65535, '(0 = any free port)'),
    workers: workerCount?.workers ?? readInteger(read, 'WORKERS', 1, 1, 1024, '(worker processes)'),
    workersFrom: workerCount?.from ?? 'WORKERS',
    logLevel: logLevel as LogLevel,
    shutdownTimeoutMs: readInteger(read, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 3_600_000, '(milliseconds)'),
    restartBackoffMaxMs: readInteger(read, 'RESTART_BACKOFF_MAX_MS', 10_000, 0, 3_600_000, '(milliseconds, 0 = no back-off)'),
    connection: Object.freeze({
      keepaliveTimeMs: readInteger(read, 'KEEPALIVE_TIME_MS', 60_000, 0, DAY_MS, '(milliseconds, 0 = off)'),
      keepaliveTimeoutMs: readInteger(read, 'KEEPALIVE_TIMEOUT_MS', 20_000, 1, DAY_MS, '(milliseconds)'),
      maxConnectionIdleMs: readInteger(read, 'MAX_CONNECTION_IDLE_MS', 300_000, 0, DAY_MS, '(milliseconds, 0 = off)'),
      maxConnectionAgeMs: readInteger(read, 'MAX_CONNECTION_AGE_MS', 0, 0, DAY_MS, '(milliseconds, 0 = off)'),
      maxConnectionAgeGraceMs: readInteger(read, 'MAX_CONNECTION_AGE_GRACE_MS', 10_000, 0, DAY_MS, '(milliseconds)'),
      maxConcurrentStreams: readInteger(read, 'MAX_CONCURRENT_STREAMS', DEFAULT_MAX_CONCURRENT_STREAMS, 1, 1_000_000, '(calls per connection)'),
      maxConnections: readInteger(read, 'MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS, 1, 1_000_000, '(connections per worker)'),
      maxHeaderListBytes: readInteger(read, 'MAX_HEADER_LIST_BYTES', 8192, 1024, 16_777_216, '(bytes of request headers)'),
    }),
    workerNodeFlags: Object.freeze(workerNodeFlags),
    hotPath: hotPath === 'on',
    httpPort: readInteger(read, 'HTTP_PORT', 0, 0, 65535, '(0 = no HTTP front door)'),
    http: Object.freeze({
      tls: loadTlsFiles(optional('HTTP_TLS_CERT_FILE'), optional('HTTP_TLS_KEY_FILE'), undefined, HTTP_TLS_VARIABLES),
      corsOrigins: readCorsOrigins(read('HTTP_CORS_ORIGINS', '*')),
      headersTimeoutMs: readInteger(read, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000, '(milliseconds)'),
      keepAliveTimeoutMs: readInteger(read, 'HTTP_KEEPALIVE_TIMEOUT_MS', 5000, 0, 600_000, '(milliseconds, 0 = close after each answer)'),
      maxConnections: readInteger(read, 'HTTP_MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS, 1, 1_000_000, '(connections per worker)'),
    }),
    metricsHost,
    metricsPort: readInteger(read, 'METRICS_PORT', 9464, 0, 65535, '(0 = no metrics endpoint)'),
    tls: loadTlsFiles(optional('TLS_CERT_FILE'), optional('TLS_KEY_FILE'), optional('TLS_CA_FILE')),
    tracing: readTracing(optional('OTEL_EXPORTER_OTLP_ENDPOINT'), read('OTEL_SERVICE_NAME', 'video-balancer')),
    pm2:
      env['pm_id'] === undefined
        ? undefined
        : Object.freeze({ id: env['pm_id'], instance: Number(env['NODE_APP_INSTANCE'] ?? env['pm_id']) || 0 }),
  });
}

/** pm2 sets `pm_id` in every process it runs. */
export function runsUnderPm2(env: Environment): boolean {
  return env['pm_id'] !== undefined;
}

/** The text of the routing file CONFIG_FILE names, if it names one. */
export function readConfiguredRoutingFile(env: Environment): string | undefined {
  const path = env['CONFIG_FILE'];
  return path ? readRoutingFile(path) : undefined;
}

/** The text of CONFIG_FILE, or a ConfigError saying why it cannot be had. */
export function readRoutingFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('CONFIG_FILE', path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Reads the variable of a whole-number routing setting from `env`, within its schema range. */
export function routingInteger(env: Environment): ReadInteger {
  const read = (name: (typeof CONFIG_VARIABLES)[number], fallback: string): string => (env[name] === '' ? undefined : env[name]) ?? fallback;
  return ({ variables, integer: range }: RoutingSetting) =>
    readInteger(read, variables[0] as (typeof CONFIG_VARIABLES)[number], range?.fallback ?? 0, range?.min ?? 0, range?.max ?? 0, range?.meaning ?? '');
}

/** `*`, or a comma-separated list of origins (`https://player.example.com`), each scheme://host[:port]. */
function readCorsOrigins(text: string): FrontDoorConfig['corsOrigins'] {
  if (text.trim() === '*') return '*';
  const origins = text.split(',').map((o) => o.trim()).filter((o) => o !== '');
  const bad = origins.find((o) => !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(o));
  if (origins.length === 0 || bad !== undefined) {
    throw new ConfigError('HTTP_CORS_ORIGINS', text, `expected * or comma-separated origins such as https://player.example.com (scheme, host and port, no path)${bad ? `; ${JSON.stringify(bad)} is not one` : ''}`);
  }
  return Object.freeze(origins.map((o) => o.toLowerCase()));
}

function readTracing(endpoint: string | undefined, serviceName: string): Config['tracing'] {
  if (endpoint === undefined) return undefined;
  if (!/^https?:\/\/[^\s]+$/.test(endpoint)) {
    throw new ConfigError('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint, 'expected an http(s):// URL of an OTLP/HTTP collector');
  }
  return Object.freeze({ endpoint, serviceName });
}

type Read = (name: (typeof CONFIG_VARIABLES)[number], fallback: string) => string;

function readListenHost(read: Read, name: (typeof CONFIG_VARIABLES)[number]): string {
  const host = read(name, '0.0.0.0');
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) throw new ConfigError(name, host, 'expected an IP address or host name to listen on');
  return host;
}

function readInteger(
  read: Read,
  name: (typeof CONFIG_VARIABLES)[number],
  fallback: number,
  min: number,
  max: number,
  meaning: string,
): number {
  const text = read(name, String(fallback));
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new ConfigError(name, text, `expected a whole number from ${min} to ${max} ${meaning}`);
  }
  return value;
}

/** The effective configuration as plain data, for the one start-up log line. */
export function describeConfig(config: Config): Record<string, unknown> {
  const tls = config.tls && { certFile: config.tls.certFile, keyFile: config.tls.keyFile, caFile: config.tls.caFile };
  const httpTls = config.http.tls && { certFile: config.http.tls.certFile, keyFile: config.http.tls.keyFile };
  return { ...config, routing: describeRouting(config.routing), tls, http: { ...config.http, tls: httpTls } };
}
