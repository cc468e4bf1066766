import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { describeConfig, loadConfig } from '../../src/config/config.js';
import { defaultWorkerCount } from '../../src/runtime/cpu-quota.js';
import { ConfigError } from '../../src/config/config-error.js';

t.test('the defaults are working values', async (t) => {
  const config = loadConfig({});
  t.match(config, {
    routing: {
      pools: [{ name: 'default', hosts: [{ baseUrl: 'http://cdn.example.com', weight: 1 }], policy: 'weighted', health: undefined, signing: undefined }],
      cdnHosts: [{ baseUrl: 'http://cdn.example.com', weight: 1, pool: 'default' }],
      originEvery: 10,
      steering: undefined,
    },
    configFile: undefined,
    grpcHost: '0.0.0.0',
    grpcPort: 50051,
    workers: defaultWorkerCount().workers,
    logLevel: 'info',
    shutdownTimeoutMs: 10_000,
    restartBackoffMaxMs: 10_000,
    connection: {
      keepaliveTimeMs: 60_000,
      keepaliveTimeoutMs: 20_000,
      maxConnectionIdleMs: 300_000,
      maxConnectionAgeMs: 0,
      maxConnectionAgeGraceMs: 10_000,
      maxConcurrentStreams: 128,
    },
    workerNodeFlags: ['--max-semi-space-size=2', '--no-allocation-site-pretenuring', '--heap-growing-percent=50'],
    hotPath: true,
    metricsHost: '0.0.0.0',
    metricsPort: 9464,
    tls: undefined,
    tracing: undefined,
    pm2: undefined,
  });
  t.same(config.routing.originAllowList.patterns, ['*.origin-cluster']);
  t.ok(Object.isFrozen(config), 'the config is frozen');
  t.ok(Object.isFrozen(config.routing), 'and so is the routing, which a reload replaces whole');
  t.match(describeConfig(config)['routing'], { origin: { hosts: ['*.origin-cluster'] } }, 'the description lists the patterns');
});

t.test('reads every variable', async (t) => {
  const config = loadConfig({
    CDN_HOST: 'https://cdn.example.net:8443/edge/',
    ORIGIN_EVERY: '0',
    ORIGIN_HOSTS: 'origin.example.com, *.origin-cluster',
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    WORKERS: '3',
    LOG_LEVEL: 'debug',
    SHUTDOWN_TIMEOUT_MS: '250',
    RESTART_BACKOFF_MAX_MS: '0',
    KEEPALIVE_TIME_MS: '0',
    KEEPALIVE_TIMEOUT_MS: '500',
    MAX_CONNECTION_IDLE_MS: '1000',
    MAX_CONNECTION_AGE_MS: '60000',
    MAX_CONNECTION_AGE_GRACE_MS: '2000',
    MAX_CONCURRENT_STREAMS: '10',
    MAX_CONNECTIONS: '500',
    MAX_HEADER_LIST_BYTES: '16384',
    WORKER_NODE_FLAGS: '--max-semi-space-size=32 --single-threaded-gc',
    HOT_PATH: 'off',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    OTEL_SERVICE_NAME: 'vb',
    pm_id: '3',
    NODE_APP_INSTANCE: '1',
  });
  t.match(config, {
    routing: { cdnHosts: [{ baseUrl: 'https://cdn.example.net:8443/edge', weight: 1 }], originEvery: 0 },
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    workers: 3,
    logLevel: 'debug',
    shutdownTimeoutMs: 250,
    restartBackoffMaxMs: 0,
    connection: {
      keepaliveTimeMs: 0,
      keepaliveTimeoutMs: 500,
      maxConnectionIdleMs: 1000,
      maxConnectionAgeMs: 60_000,
      maxConnections: 500,
      maxHeaderListBytes: 16_384,
      maxConnectionAgeGraceMs: 2000,
      maxConcurrentStreams: 10,
    },
    workerNodeFlags: ['--max-semi-space-size=32', '--single-threaded-gc'],
    hotPath: false,
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    tracing: { endpoint: 'http://collector:4318', serviceName: 'vb' },
    pm2: { id: '3', instance: 1 },
  });
  t.same(config.routing.originAllowList.patterns, ['origin.example.com', '*.origin-cluster']);
});

t.test('CDN_HOST takes host[:port] or a full base URL', async (t) => {
  const rows: Array<[string, string]> = [
    ['cdn.example.com', 'http://cdn.example.com'],
    ['CDN.Example.com:8080', 'http://cdn.example.com:8080'],
    ['10.0.0.5', 'http://10.0.0.5'],
    ['http://cdn.example.com', 'http://cdn.example.com'],
    ['https://cdn.example.com/', 'https://cdn.example.com'],
    ['https://cdn.example.com:443/v', 'https://cdn.example.com/v'],
  ];
  for (const [value, base] of rows) t.same(loadConfig({ CDN_HOST: value }).routing.pools[0]?.hosts, [{ baseUrl: base, weight: 1 }], value);
});

t.test('an empty variable counts as unset', async (t) => {
  t.equal(loadConfig({ ORIGIN_EVERY: '', CDN_HOST: '' }).routing.originEvery, 10);
});

t.test('a bad value names the variable, the value and what is expected', async (t) => {
  const rows: Array<[string, string, RegExp]> = [
    ['CDN_HOST', 'ftp://cdn.example.com', /scheme must be http or https/],
    ['CDN_HOST', 'user@cdn.example.com', /user-info is not allowed/],
    ['CDN_HOST', 'cdn.example.com/prefix', /path prefix needs the full form/],
    ['CDN_HOST', 'https://cdn.example.com/?a=1', /query or fragment/],
    ['CDN_HOST', 'http://', /expected host\[:port\]/],
    ['CDN_HOST', 'cdn example.com', /expected host\[:port\]/],
    ['CDN_HOST', 'file:///tmp', /scheme must be http or https/],
    ['CDN_HOSTS', 'a.example.com=0', /"a.example.com=0": the weight must be a whole number from 1 to 1000/],
    ['CDN_HOSTS', 'a.example.com,,b.example.com', /has an empty entry/],
    ['CDN_HOSTS', 'a.example.com,A.example.com=2', /"A.example.com" is listed twice/],
    ['CDN_HOSTS', 'a.example.com,ftp://b.example.com', /"ftp:\/\/b.example.com": the scheme must be http or https/],
    ['CDN_POLICY', 'random', /expected weighted, hash, least-loaded/],
    ['ORIGIN_EVERY', '-1', /whole number from 0 to/],
    ['ORIGIN_EVERY', 'ten', /whole number from 0 to/],
    ['ORIGIN_EVERY', '1.5', /whole number from 0 to/],
    ['ORIGIN_HOSTS', 'a b', /comma-separated host names.*invalid character/],
    ['ORIGIN_HOSTS', ',', /at least one pattern/],
    ['GRPC_HOST', 'local host', /IP address or host name/],
    ['GRPC_PORT', '65536', /whole number from 0 to 65535/],
    ['GRPC_PORT', '80a', /whole number from 0 to 65535/],
    ['WORKERS', '0', /whole number from 1 to 1024/],
    ['WORKERS', '2000', /whole number from 1 to 1024/],
    ['LOG_LEVEL', 'verbose', /one of fatal, error, warn, info, debug, trace, silent/],
    ['SHUTDOWN_TIMEOUT_MS', '1e3', /whole number from 0 to 3600000/],
    ['RESTART_BACKOFF_MAX_MS', '-1', /whole number from 0 to 3600000 \(milliseconds, 0 = no back-off\)/],
    ['KEEPALIVE_TIME_MS', '-5', /whole number from 0 to 86400000/],
    ['KEEPALIVE_TIMEOUT_MS', '0', /whole number from 1 to 86400000/],
    ['MAX_CONNECTION_IDLE_MS', '5m', /whole number from 0 to 86400000/],
    ['MAX_CONNECTION_AGE_MS', '99999999999', /whole number from 0 to 86400000/],
    ['MAX_CONNECTION_AGE_GRACE_MS', 'x', /whole number from 0 to 86400000/],
    ['MAX_CONCURRENT_STREAMS', '0', /whole number from 1 to 1000000/],
    ['MAX_CONNECTIONS', '0', /MAX_CONNECTIONS.*whole number from 1 to 1000000 \(connections per worker\)/],
    ['MAX_HEADER_LIST_BYTES', '512', /MAX_HEADER_LIST_BYTES.*whole number from 1024 to 16777216/],
    ['WORKER_NODE_FLAGS', '--inspect; rm -rf /', /space-separated --flag\[=value\] options, or none/],
    ['WORKER_NODE_FLAGS', 'max-semi-space-size=32', /space-separated --flag/],
    ['HOT_PATH', 'yes', /expected on or off/],
    ['METRICS_HOST', 'a b', /IP address or host name/],
    ['METRICS_PORT', '70000', /whole number from 0 to 65535/],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', /http\(s\):\/\/ URL of an OTLP\/HTTP collector/],
    ['TLS_CA_FILE', '/tmp/ca.pem', /needs TLS_CERT_FILE and TLS_KEY_FILE too/],
  ];
  for (const [variable, value, expected] of rows) {
    try {
      loadConfig({ [variable]: value });
      t.fail(`${variable}=${value} was accepted`);
    } catch (error) {
      t.type(error, ConfigError, `${variable}=${value} throws ConfigError`);
      const configError = error as ConfigError;
      t.equal(configError.variable, variable);
      t.ok(configError.message.startsWith(`${variable}=${JSON.stringify(value)} is invalid: `), configError.message);
      t.match(configError.message, expected);
      t.notMatch(configError.message, /\n/, 'one line');
    }
  }
});

t.test('TLS needs the certificate and the key together', async (t) => {
  t.throws(() => loadConfig({ TLS_KEY_FILE: '/tmp/key.pem' }), { variable: 'TLS_CERT_FILE', message: 'TLS_CERT_FILE="" is invalid: must be set when TLS_KEY_FILE is' });
  t.throws(() => loadConfig({ TLS_CERT_FILE: '/tmp/cert.pem' }), { variable: 'TLS_KEY_FILE', message: 'TLS_KEY_FILE="" is invalid: must be set when TLS_CERT_FILE is' });
});

t.test('WORKER_NODE_FLAGS=none starts workers with V8 defaults', async (t) => {
  t.same(loadConfig({ WORKER_NODE_FLAGS: 'none' }).workerNodeFlags, []);
});

t.test('CDN_HOSTS: a pool with weights, and the policy to choose from it', async (t) => {
  const config = loadConfig({ CDN_HOSTS: ' cdn-a.example.com=3, https://cdn-b.example.com:8443/v ,cdn-c.example.com', CDN_POLICY: 'hash' });
  t.same(config.routing.pools[0]?.hosts, [
    { baseUrl: 'http://cdn-a.example.com', weight: 3 },
    { baseUrl: 'https://cdn-b.example.com:8443/v', weight: 1 },
    { baseUrl: 'http://cdn-c.example.com', weight: 1 },
  ]);
  t.equal(config.routing.pools[0]?.policy, 'hash');
  t.equal(loadConfig({ CDN_HOSTS: 'a.example.com,b.example.com' }).routing.pools[0]?.policy, 'weighted', 'weighted by default');
  t.throws(() => loadConfig({ CDN_HOST: 'a.example.com', CDN_HOSTS: 'b.example.com' }), {
    variable: 'CDN_HOSTS',
    message: 'CDN_HOSTS="b.example.com" is invalid: set either CDN_HOST or CDN_HOSTS, not both',
  });
});

t.test('CDN_HEALTH_*: checks with HAProxy-style fall and rise, defaults 2000/1000/2/2', async (t) => {
  t.equal(loadConfig({}).routing.pools[0]?.health, undefined, 'no CDN_HEALTH_PATH: no checks');
  t.same(loadConfig({ CDN_HEALTH_PATH: '/healthz' }).routing.pools[0]?.health, { path: '/healthz', intervalMs: 2000, timeoutMs: 1000, fall: 2, rise: 2 });
  t.same(
    loadConfig({ CDN_HEALTH_PATH: '/ping?x=1', CDN_HEALTH_INTERVAL_MS: '500', CDN_HEALTH_TIMEOUT_MS: '250', CDN_HEALTH_FALL: '3', CDN_HEALTH_RISE: '5' }).routing.pools[0]?.health,
    { path: '/ping?x=1', intervalMs: 500, timeoutMs: 250, fall: 3, rise: 5 },
  );
  for (const [variable, value, expected] of [
    ['CDN_HEALTH_PATH', 'healthz', /a path starting with \//],
    ['CDN_HEALTH_INTERVAL_MS', '50', /whole number from 100 to 3600000/],
    ['CDN_HEALTH_TIMEOUT_MS', '0', /whole number from 1 to 60000/],
    ['CDN_HEALTH_FALL', '0', /whole number from 1 to 100/],
    ['CDN_HEALTH_RISE', 'two', /whole number from 1 to 100/],
  ] as const) {
    t.throws(() => loadConfig({ CDN_HEALTH_PATH: '/healthz', [variable]: value }), { variable, message: expected }, `${variable}=${value}`);
  }
});

t.test('CDN_SIGNING: a scheme, a secret from a variable or a file, a TTL; never the secret in a message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vb-secret-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'secret'), 'from a file\n');
  const fromFile = loadConfig({ CDN_SIGNING: 'nginx-secure-link', CDN_SIGNING_SECRET_FILE: join(dir, 'secret') }).routing.pools[0]?.signing;
  t.equal(fromFile?.secret.reveal(), 'from a file', 'the file, without its trailing newline');
  t.equal(fromFile?.ttlSeconds, 3600, 'TTL 3600 s by default');
  t.equal(loadConfig({ CDN_SIGNING: 'nginx-secure-link', CDN_SIGNING_SECRET: 'x', CDN_SIGNING_TTL_S: '60' }).routing.pools[0]?.signing?.ttlSeconds, 60);
  t.equal(loadConfig({}).routing.pools[0]?.signing, undefined, 'unset: no signing');
  const described = JSON.stringify(describeConfig(loadConfig({ CDN_SIGNING: 'nginx-secure-link', CDN_SIGNING_SECRET: 'hunter2' })));
  t.match(described, /"signing":\{"scheme":"nginx-secure-link","ttlSeconds":3600\}/, 'the description names the scheme and TTL');
  t.notMatch(described, /hunter2/, 'and never the secret');
  const secret = 'do-not-print-me';
  for (const [env, variable, expected] of [
    [{ CDN_SIGNING: 'md5', CDN_SIGNING_SECRET: secret }, 'CDN_SIGNING', /expected one of nginx-secure-link/],
    [{ CDN_SIGNING: 'nginx-secure-link' }, 'CDN_SIGNING', /needs a secret/],
    [{ CDN_SIGNING_SECRET: secret }, 'CDN_SIGNING', /is unset while a signing secret is given/],
    [{ CDN_SIGNING: 'nginx-secure-link', CDN_SIGNING_SECRET: secret, CDN_SIGNING_SECRET_FILE: join(dir, 'secret') }, 'CDN_SIGNING_SECRET_FILE', /not both/],
    [{ CDN_SIGNING: 'nginx-secure-link', CDN_SIGNING_SECRET_FILE: join(dir, 'missing') }, 'CDN_SIGNING_SECRET_FILE', /cannot be read \(ENOENT\)/],
    [{ CDN_SIGNING: 'nginx-secure-link', CDN_SIGNING_SECRET: secret, CDN_SIGNING_TTL_S: '0' }, 'CDN_SIGNING_TTL_S', /whole number from 1 to 31536000/],
  ] as const) {
    t.throws(() => loadConfig(env), { variable, message: expected }, JSON.stringify(env).replace(secret, '***'));
    try {
      loadConfig(env);
    } catch (error) {
      t.notMatch((error as Error).message, secret, 'the message does not contain the secret');
    }
  }
});
