import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config/config.js';
import { describeRouting } from '../../src/config/routing-config.js';
import { RedirectRouter } from '../../src/routing/redirect-router.js';
import { parseIpAddress } from '../../src/routing/steering/ip-address.js';
import { Viewer } from '../../src/routing/viewer.js';
import { geoDbWriterAvailable, writeGeoDb } from '../helpers/geo-db.js';

if (!geoDbWriterAvailable() && process.env['CI']) throw new Error('libmaxmind-db-writer-perl is missing, and CI installs it (.ci/run)');
const skip = geoDbWriterAvailable() ? false : 'needs libmaxmind-db-writer-perl (apt-get install libmaxmind-db-writer-perl) to write a MaxMind DB';

const dir = mkdtempSync(join(tmpdir(), 'vb-steering-'));
const database = skip ? '' : writeGeoDb(join(dir, 'country.mmdb'));
const czf = join(dir, 'czf.json');
writeFileSync(
  czf,
  JSON.stringify({
    revision: 'test',
    customerName: 'video-balancer',
    coverageZones: {
      eu: { network: ['127.0.9.0/24', '127.0.10.0/24'], network6: ['2001:db8:e0::/48'], coordinates: { latitude: 50.1, longitude: 8.7 } },
      'us-east': { network: ['127.0.11.0/24'] },
    },
  }),
);

const POOLS = `cdn:
  pools:
    default:
      hosts: [cdn-default.test]
    eu:
      hosts: [cdn-eu-1.test, cdn-eu-2.test]
      policy: hash
    us-east:
      hosts:
        - host: cdn-us.test
          weight: 2
    asia:
      hosts: [cdn-asia.test]
`;
const load = (text: string) => loadConfig({ CONFIG_FILE: join(dir, 'routing.yaml') }, text).routing;
const steering = (body: string) => `${POOLS}steering:\n${body}`;
const poolOf = (routing: ReturnType<typeof load>, address: string) => {
  const decision = new RedirectRouter(routing).decide(new Viewer(parseIpAddress(address)));
  return { ...decision, pool: routing.pools[decision.pool]?.name, network: undefined };
};

t.test('cdn.pools: named pools, default first; a host belongs to one pool; today\'s forms are the pool default', async (t) => {
  const routing = load(`cdn:\n  pools:\n    eu:\n      hosts: [a.test]\n    default:\n      hosts: [b.test]\n`);
  t.same(routing.pools.map((p) => p.name), ['default', 'eu']);
  t.same(routing.cdnHosts.map((h) => `${h.pool}:${h.baseUrl}`), ['default:http://b.test', 'eu:http://a.test']);
  t.same(load('cdn:\n  hosts: [x.test]\n').pools.map((p) => p.name), ['default']);
  t.same(loadConfig({ CDN_HOSTS: 'a.test,b.test' }).routing.pools.map((p) => [p.name, p.hosts.length]), [['default', 2]]);
  t.equal(
    load('cdn:\n  hosts: [x.test]\n').id,
    loadConfig({ CONFIG_FILE: 'other.yaml' }, 'cdn:\n  hosts: [x.test]\n').routing.id,
    'one pool, no steering: described (and identified) as before pools',
  );
});

t.test('bad pools are refused naming the key', async (t) => {
  const rows: Array<[string, RegExp]> = [
    ['cdn:\n  hosts: [a.test]\n  pools:\n    default:\n      hosts: [b.test]\n', /cdn\.hosts: cannot be given with cdn\.pools/],
    ['cdn:\n  pools:\n    eu:\n      hosts: [a.test]\n', /cdn\.pools: must name a pool "default"/],
    ['cdn:\n  pools:\n    default:\n      hosts: [a.test]\n    eu:\n      hosts: [a.test]\n', /cdn\.pools\.eu\.hosts\[0\]\.host: http:\/\/a\.test is in pool default too/],
    ['cdn:\n  pools:\n    default:\n      policy: hash\n', /cdn\.pools\.default\.hosts: is required/],
    ['cdn:\n  pools:\n    "bad name":\n      hosts: [a.test]\n    default:\n      hosts: [b.test]\n', /cdn\.pools\.bad name: a pool name is/],
    ['cdn:\n  pools:\n    default:\n      hosts: [a.test]\n      weight: 2\n', /cdn\.pools\.default\.weight: unknown key/],
  ];
  for (const [text, expected] of rows) t.throws(() => load(text), { variable: 'CONFIG_FILE', message: expected }, expected.source);
});

t.test('zones: the most specific network wins, IPv4 and IPv6; an unmatched viewer gets the default pool', { skip }, async (t) => {
  const routing = load(
    steering(`  zones:
    - name: eu-wide
      networks: [127.0.0.0/16]
      pool: eu
    - name: us-office
      networks: [127.0.5.0/24, '2001:db8:5::/48']
      pool: us-east
`),
  );
  t.match(poolOf(routing, '127.0.5.9'), { pool: 'us-east', method: 'zone', zone: 'us-office' });
  t.match(poolOf(routing, '127.0.6.9'), { pool: 'eu', method: 'zone', zone: 'eu-wide' });
  t.match(poolOf(routing, '2001:db8:5::1'), { pool: 'us-east', method: 'zone' });
  t.match(poolOf(routing, '192.0.2.1'), { pool: 'default', method: 'default' });
});

t.test('a Traffic Router coverage zone file: each zone to the pool of its name, together with the file\'s zones', { skip }, async (t) => {
  const routing = load(steering(`  coverageZoneFile: ${czf}\n  zones:\n    - name: narrow\n      networks: [127.0.9.128/25]\n      pool: asia\n`));
  t.match(poolOf(routing, '127.0.10.1'), { pool: 'eu', method: 'zone', zone: 'eu' });
  t.match(poolOf(routing, '127.0.9.1'), { pool: 'eu', zone: 'eu' });
  t.match(poolOf(routing, '127.0.9.200'), { pool: 'asia', zone: 'narrow' }, 'the routing file\'s more specific network wins over the file\'s');
  t.match(poolOf(routing, '2001:db8:e0::9'), { pool: 'eu' });
  t.match(poolOf(routing, '127.0.11.3'), { pool: 'us-east' });
  t.match(describeRouting(routing), { steering: { coverageZoneFile: { path: czf, zones: 2, networks: 4 } } });
});

t.test('geolocation: zone, then country, then continent, then default, from a real MaxMind DB', { skip }, async (t) => {
  const routing = load(
    steering(`  zones:
    - name: override
      networks: [127.0.2.128/25]
      pool: asia
  geo:
    database: ${database}
    countries: { US: us-east, DE: eu }
    continents: { EU: eu, AS: asia }
`),
  );
  t.match(poolOf(routing, '127.0.1.7'), { pool: 'us-east', method: 'country', country: 'US' });
  t.match(poolOf(routing, '127.0.2.7'), { pool: 'eu', method: 'country', country: 'DE' });
  t.match(poolOf(routing, '127.0.2.200'), { pool: 'asia', method: 'zone' }, 'a zone comes before the country');
  t.match(poolOf(routing, '127.0.3.7'), { pool: 'eu', method: 'continent', continent: 'EU', country: 'FR' });
  t.match(poolOf(routing, '127.0.4.7'), { pool: 'asia', method: 'continent', continent: 'AS' });
  t.match(poolOf(routing, '127.0.0.1'), { pool: 'default', method: 'default' }, 'not in the database');
  t.match(poolOf(routing, '2001:db8:2::1'), { pool: 'eu', method: 'country' }, 'IPv6');
  t.match(describeRouting(routing), { steering: { geo: { database: { databaseType: 'GeoLite2-Country', path: database } } } });
});

t.test('bad steering is refused naming the key (or the file and its key)', { skip }, async (t) => {
  const notAnMmdb = join(dir, 'not.mmdb');
  writeFileSync(notAnMmdb, 'this is not a MaxMind DB');
  const badCzf = join(dir, 'bad-czf.json');
  writeFileSync(badCzf, JSON.stringify({ coverageZones: { eu: { network: ['127.0.0.0/33'] } } }));
  const unknownZone = join(dir, 'unknown-zone.json');
  writeFileSync(unknownZone, JSON.stringify({ coverageZones: { mars: { network: ['127.0.0.0/24'] } } }));
  const rows: Array<[string, RegExp]> = [
    ['  zones:\n    - name: z\n      networks: [127.0.0.0/33]\n      pool: eu\n', /steering\.zones\[0\]\.networks\[0\]: "127\.0\.0\.0\/33" is not a network in CIDR notation/],
    ['  zones:\n    - name: z\n      networks: [127.0.0.0/24]\n      pool: mars\n', /steering\.zones\[0\]\.pool: names no pool "mars"/],
    [
      '  zones:\n    - name: a\n      networks: [127.0.0.0/24]\n      pool: eu\n    - name: b\n      networks: [127.0.0.9/24]\n      pool: asia\n',
      /steering\.zones\[1\]\.networks\[0\]: 127\.0\.0\.0\/24 is also steering\.zones\[0\]\.networks\[0\] \(zone a\): one network cannot go to two pools/,
    ],
    ['  trustedProxies: [10.0.0.0/8, proxy.example]\n', /steering\.trustedProxies\[1\]: "proxy\.example" is not a network/],
    [`  geo:\n    database: ${join(dir, 'missing.mmdb')}\n`, /steering\.geo\.database: ".*missing\.mmdb" cannot be read \(ENOENT\)/],
    [`  geo:\n    database: ${notAnMmdb}\n`, /steering\.geo\.database: ".*not\.mmdb" is not a MaxMind DB file/],
    [`  geo:\n    database: ${database}\n    countries: { UK: eu }\n`, /steering\.geo\.countries\.UK: "UK" is not an ISO 3166-1 alpha-2 country code/],
    [`  geo:\n    database: ${database}\n    continents: { EUR: eu }\n`, /steering\.geo\.continents\.EUR: "EUR" is not a continent code/],
    [`  geo:\n    database: ${database}\n    countries: { DE: mars }\n`, /steering\.geo\.countries\.DE: names no pool "mars"/],
    [`  coverageZoneFile: ${badCzf}\n`, /steering\.coverageZoneFile ".*bad-czf\.json", coverageZones\.eu\.network\[0\]: "127\.0\.0\.0\/33" is not an IPv4 network/],
    [`  coverageZoneFile: ${unknownZone}\n`, /coverageZones\.mars: has no pool of the same name in cdn\.pools/],
    [`  coverageZoneFile: ${join(dir, 'routing.yaml')}\n`, /steering\.coverageZoneFile: ".*routing\.yaml" cannot be read \(ENOENT\)/],
    ['  zonez: []\n', /steering\.zonez: unknown key/],
  ];
  for (const [body, expected] of rows) t.throws(() => load(steering(body)), { variable: 'CONFIG_FILE', message: expected }, expected.source.slice(0, 60));
});

t.test('geolocation answers are shared by a /24 only when the database\'s network spans it', { skip }, async (t) => {
  const narrow = writeGeoDb(join(dir, 'narrow.mmdb'), ['127.0.5.0/25=US/NA', '127.0.5.128/25=DE/EU', '127.0.6.0/23=JP/AS']);
  const routing = load(steering(`  geo:\n    database: ${narrow}\n    countries: { US: us-east, DE: eu, JP: asia }\n`));
  t.match(poolOf(routing, '127.0.5.1'), { pool: 'us-east', country: 'US' });
  t.match(poolOf(routing, '127.0.5.200'), { pool: 'eu', country: 'DE' }, 'a /25 apart: not taken from the /24 before');
  t.match(poolOf(routing, '127.0.6.1'), { pool: 'asia' });
  t.match(poolOf(routing, '127.0.7.250'), { pool: 'asia' }, 'the other /24 of a /23');
  t.match(poolOf(routing, '127.0.6.99'), { pool: 'asia' }, 'and again, from the cache');
});
