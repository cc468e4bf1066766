import { availableParallelism } from 'node:os';
import t from 'tap';
import { describeConfig, loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/config/config-error.js';

t.test('the defaults are working values', async (t) => {
  const config = loadConfig({});
  t.match(config, {
    cdnHost: 'cdn.example.com',
    cdnBaseUrl: 'http://cdn.example.com',
    originEvery: 10,
    grpcHost: '0.0.0.0',
    grpcPort: 50051,
    workers: availableParallelism(),
    logLevel: 'info',
    shutdownTimeoutMs: 10_000,
  });
  t.same(config.originAllowList.patterns, ['*.origin-cluster']);
  t.ok(Object.isFrozen(config), 'the config is frozen');
  t.same(describeConfig(config).originAllowList, ['*.origin-cluster'], 'the description lists the patterns');
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
  });
  t.match(config, {
    cdnBaseUrl: 'https://cdn.example.net:8443/edge',
    originEvery: 0,
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    workers: 3,
    logLevel: 'debug',
    shutdownTimeoutMs: 250,
  });
  t.same(config.originAllowList.patterns, ['origin.example.com', '*.origin-cluster']);
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
  for (const [value, base] of rows) t.equal(loadConfig({ CDN_HOST: value }).cdnBaseUrl, base, value);
});

t.test('an empty variable counts as unset', async (t) => {
  t.equal(loadConfig({ ORIGIN_EVERY: '', CDN_HOST: '' }).originEvery, 10);
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
