import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config/config.js';
import { describeRouting, routingChanges } from '../../src/config/routing-config.js';
import { parseRoutingFile } from '../../src/config/routing-file.js';

const ISSUE_EXAMPLE = `cdn:
  policy: weighted            # or hash
  hosts:
    - host: cdn-a.example.com # any form CDN_HOST takes
      weight: 3
    - host: cdn-b.example.com
      weight: 1
origin:
  every: 10
  hosts: ['*.origin-cluster']
`;

t.test('the documented example reads exactly as written', async (t) => {
  const config = loadConfig({ CONFIG_FILE: '/etc/vb/routing.yaml' }, ISSUE_EXAMPLE);
  t.same(describeRouting(config.routing), {
    id: config.routing.id,
    cdn: {
      policy: 'weighted',
      hosts: [
        { host: 'http://cdn-a.example.com', weight: 3 },
        { host: 'http://cdn-b.example.com', weight: 1 },
      ],
      health: null,
      signing: null,
    },
    origin: { every: 10, hosts: ['*.origin-cluster'] },
  });
  t.match(config.routing.id, /^[0-9a-f]{12}$/);
  t.equal(config.configFile, '/etc/vb/routing.yaml');
});

t.test('health and signing from the file, with the defaults of their variables', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'routing-'));
  writeFileSync(join(dir, 'secret'), 's3cret\n');
  const routing = loadConfig(
    { CONFIG_FILE: 'r.yaml' },
    `cdn:\n  hosts: [cdn-a.example.com, 'https://cdn-b.example.com:8443/v']\n  health:\n    path: /healthz\n    fall: 3\n  signing:\n    scheme: nginx-secure-link\n    secretFile: ${join(dir, 'secret')}\n`,
  ).routing;
  t.same(routing.pools[0]?.hosts, [
    { baseUrl: 'http://cdn-a.example.com', weight: 1 },
    { baseUrl: 'https://cdn-b.example.com:8443/v', weight: 1 },
  ]);
  t.same(routing.pools[0]?.health, { path: '/healthz', intervalMs: 2000, timeoutMs: 1000, fall: 3, rise: 2 });
  t.equal(routing.pools[0]?.signing?.secret.reveal(), 's3cret');
  t.equal(routing.pools[0]?.signing?.ttlSeconds, 3600);
  t.notMatch(JSON.stringify(describeRouting(routing)), /s3cret/, 'the description never holds the secret');
});

t.test('each mistake names its key path and what is wrong', async (t) => {
  const rows: Array<[string, RegExp]> = [
    ['cdn:\n  hosts:\n    - host: a.example.com\n    - host: b.example.com\n      weight: 0\n', /: cdn\.hosts\[1\]\.weight: must be a whole number from 1 to 1000$/],
    ['cdn:\n  hosts:\n    - host: a.example.com\n      weight: 2.5\n', /cdn\.hosts\[0\]\.weight: must be a whole number/],
    ['cdn:\n  hosts:\n    - host: "ftp://x"\n', /cdn\.hosts\[0\]\.host: /],
    ['cdn:\n  hosts:\n    - host: a.example.com\n    - a.example.com\n', /cdn\.hosts\[1\]\.host: "a\.example\.com" is listed twice/],
    ['cdn:\n  hosts: []\n', /cdn\.hosts: must be a list of at least one/],
    ['cdn:\n  hostz: []\n', /cdn\.hostz: unknown key \(expected one of policy, hosts, health, signing, load, pools\)/],
    ['cdn:\n  hosts:\n    - host: a.example.com\n      wieght: 2\n', /cdn\.hosts\[0\]\.wieght: unknown key/],
    ['cdn:\n  policy: random\n', /cdn\.policy: expected weighted, hash, least-loaded/],
    ['cdn:\n  health:\n    path: healthz\n', /cdn\.health\.path: expected a path starting with \//],
    ['cdn:\n  health:\n    path: /h\n    intervalMs: 10\n', /cdn\.health\.intervalMs: must be a whole number from 100 to 3600000 \(milliseconds\)/],
    ['cdn:\n  signing:\n    scheme: md5\n    secretFile: /x\n', /cdn\.signing\.scheme: expected one of nginx-secure-link/],
    ['cdn:\n  signing:\n    scheme: nginx-secure-link\n    secretFile: /nonexistent/secret\n', /cdn\.signing\.secretFile: "\/nonexistent\/secret" cannot be read \(ENOENT\)/],
    ['cdn:\n  signing:\n    scheme: nginx-secure-link\n    secret: inline\n', /cdn\.signing\.secret: unknown key/],
    ['origin:\n  every: -1\n', /origin\.every: must be a whole number from 0 to 1000000000/],
    ['origin:\n  hosts: [""]\n', /origin\.hosts\[0\]: must be a non-empty string/],
    ['origin:\n  hosts: "*.origin-cluster"\n', /origin\.hosts: must be a list/],
    ['originn: {}\n', /originn: unknown key \(expected one of cdn, origin, steering\)/],
    ['- just\n- a list\n', /\(file\)|must be a mapping/],
    ['', /is empty; expected the keys cdn, origin and\/or steering/],
    ['cdn:\n  policy: hash\n  policy: weighted\n', /line \d+: not valid YAML/],
    ['cdn: [\n', /line \d+: not valid YAML/],
  ];
  for (const [text, expected] of rows) {
    t.throws(() => parseRoutingFile('/etc/vb/routing.yaml', text), { name: 'ConfigError', variable: 'CONFIG_FILE', message: expected }, JSON.stringify(text));
  }
});

t.test('a setting both the environment and the file give is refused, naming both', async (t) => {
  const rows: Array<[Record<string, string>, string, RegExp]> = [
    [{ CDN_HOSTS: 'x.example.com' }, 'cdn:\n  hosts: [a.example.com]\n', /^CDN_HOSTS="x\.example\.com" is invalid: is set in the environment and by cdn\.hosts in CONFIG_FILE r\.yaml/],
    [{ CDN_POLICY: 'hash' }, 'cdn:\n  policy: weighted\n', /CDN_POLICY.*by cdn\.policy in CONFIG_FILE/],
    [{ CDN_HEALTH_FALL: '3' }, 'cdn:\n  health:\n    path: /h\n', /CDN_HEALTH_FALL.*by cdn\.health\.fall in CONFIG_FILE/],
    [{ ORIGIN_EVERY: '5' }, 'origin:\n  every: 10\n', /ORIGIN_EVERY.*by origin\.every in CONFIG_FILE/],
  ];
  for (const [env, text, expected] of rows) t.throws(() => loadConfig({ CONFIG_FILE: 'r.yaml', ...env }, text), { message: expected });
  const merged = loadConfig({ CONFIG_FILE: 'r.yaml', CDN_POLICY: 'hash', ORIGIN_EVERY: '3' }, 'cdn:\n  hosts: [a.example.com, b.example.com]\n').routing;
  t.equal(merged.pools[0]?.policy, 'hash', 'what the file does not set comes from the environment');
  t.equal(merged.originEvery, 3);
  t.throws(() => loadConfig({ CONFIG_FILE: '/nonexistent/routing.yaml' }), { message: /^CONFIG_FILE="\/nonexistent\/routing\.yaml" is invalid: cannot be read \(ENOENT\)$/ });
});

t.test('a reload says what changed: hosts added, removed, reweighted, other keys', async (t) => {
  const before = loadConfig({ CONFIG_FILE: 'r' }, 'cdn:\n  hosts:\n    - host: a.example.com\n      weight: 3\n    - b.example.com\norigin:\n  every: 10\n').routing;
  const after = loadConfig({ CONFIG_FILE: 'r' }, 'cdn:\n  policy: hash\n  hosts:\n    - host: a.example.com\n      weight: 1\n    - c.example.com\norigin:\n  every: 5\n').routing;
  t.same(routingChanges(before, after), {
    hostsAdded: ['http://c.example.com'],
    hostsRemoved: ['http://b.example.com'],
    hostsReweighted: ['http://a.example.com: 3 -> 1'],
    otherKeys: ['cdn.policy', 'origin.every'],
  });
  t.not(before.id, after.id, 'and the routing has a new identifier');
  t.equal(loadConfig({ CONFIG_FILE: 'r' }, 'origin:\n  every: 10\n').routing.id, loadConfig({ CONFIG_FILE: 'r' }, 'origin:\n  every: 10 # same\n').routing.id, 'the same settings, the same identifier');
});
