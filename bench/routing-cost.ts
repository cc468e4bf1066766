/**
 * The rule's own cost per call (parse, rotate, choose a CDN host, build the answer) for one CDN
 * host and for pools, interleaved over several rounds on the same machine. The whole gRPC call
 * costs far more (bench/cost.sh); this isolates what CDN pools and steering add.
 *   node dist/bench/routing-cost.js [--calls 2000000] [--rounds 7] [--geo-db FILE]
 *
 * Steering: 10,000 zone networks (/24 to /28) and, with --geo-db, a MaxMind DB behind them (e.g.
 * one written by test/fixtures/write-geo-db.pl). 'peer' keeps one Viewer per connection, as the
 * edges do for a connection's peer (the pool is decided once); 'forwarded' takes the address of
 * every call from a forwarding header through the edges' viewerOf (parse, trust, a cache of two
 * generations of 8,192 addresses), over 65,536 distinct addresses, so most calls miss that cache;
 * 'forwarded x1024' over 1,024 addresses that repeat.
 */
import { parseArgs } from 'node:util';
import { OriginAllowList } from '../src/routing/origin-allow-list.js';
import { RedirectRouter, singlePool, type RedirectRule } from '../src/routing/redirect-router.js';
import { loadGeoDatabase } from '../src/config/geo-database.js';
import { viewerOf } from '../src/edge/viewer-address.js';
import { parseIpAddress } from '../src/routing/steering/ip-address.js';
import { NetworkTable, parseNetwork } from '../src/routing/steering/network-table.js';
import type { ZoneTarget } from '../src/routing/steering/steering.js';
import { Viewer } from '../src/routing/viewer.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '2000000' }, rounds: { type: 'string', default: '7' }, 'geo-db': { type: 'string' } } });
const calls = Number(values.calls);
const rounds = Number(values.rounds);
const originAllowList = new OriginAllowList(['*.origin-cluster']);
const host = (name: string, weight = 1) => ({ baseUrl: `http://${name}`, weight });

const variants: Array<[string, RedirectRule]> = [
  ['single host', { pools: singlePool([host('cdn.example.com')]), originEvery: 10, originAllowList }],
  ['weighted, 3 hosts', { pools: singlePool([host('a.example.com', 3), host('b.example.com', 2), host('c.example.com')]), originEvery: 10, originAllowList }],
  ['hash, 3 hosts 3:2:1', { pools: singlePool([host('a.example.com', 3), host('b.example.com', 2), host('c.example.com')], 'hash'), originEvery: 10, originAllowList }],
  ['least-loaded, 3 hosts 3:2:1', { pools: singlePool([host('a.example.com', 3), host('b.example.com', 2), host('c.example.com')], 'least-loaded'), originEvery: 10, originAllowList }],
  ['hash, 3 equal hosts', { pools: singlePool([host('a.example.com'), host('b.example.com'), host('c.example.com')], 'hash'), originEvery: 10, originAllowList }],
];
// Steering: 10,000 zones over 10.x.y.0, a pool per zone parity.
const zones = new NetworkTable<ZoneTarget>();
for (let i = 0; i < 10_000; i++) zones.add(parseNetwork(`10.${(i >> 8) & 255}.${i & 255}.0/${24 + (i % 5)}`)!, { zone: `z${i}`, pool: 1 + (i % 2) });
const geo = values['geo-db'] ? loadGeoDatabase(values['geo-db']) : undefined;
if (geo && 'problem' in geo) throw new Error(`--geo-db: ${geo.problem}`);
const trusted = new NetworkTable<true>();
trusted.add(parseNetwork('127.0.0.0/8')!, true);
const steeredRule: RedirectRule = {
  pools: [
    { name: 'default', hosts: [host('d.example.com')], policy: 'weighted' },
    { name: 'a', hosts: [host('a.example.com')], policy: 'weighted' },
    { name: 'b', hosts: [host('b.example.com')], policy: 'weighted' },
  ],
  originEvery: 10,
  originAllowList,
  steering: { trustedProxies: trusted, zones, geo: geo?.lookup, countries: new Map([['US', 1], ['DE', 2]]), continents: new Map([['EU', 2]]) },
};
const label = `steering${geo ? ' + geo db' : ''}`;
variants.push([`${label}, peer`, steeredRule], [`${label}, forwarded`, steeredRule], [`${label}, forwarded x1024`, steeredRule]);
// Half the addresses in a zone, half outside every zone (so the database, when given, is asked).
const addresses = Array.from({ length: 65_536 }, (_, i) => (i % 2 ? `10.${(i >> 9) & 39}.${(i >> 1) & 255}.${i & 255}` : `127.${(i >> 16) & 3}.${(i >> 8) & 255}.${i & 255}`));
const peers = Array.from({ length: 64 }, (_, i) => new Viewer(parseIpAddress(addresses[i] as string)));
const proxy = {};

const videos = Array.from({ length: 1024 }, (_, i) => `http://s${i % 7}.origin-cluster/video/${i}/xcg2djHckad.m3u8?token=${i * 31}`);

const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
let sink = 0;
for (let round = 0; round < rounds; round++) {
  for (const [name, rule] of variants) {
    const router = new RedirectRouter(rule);
    router.setCdnLoads(new Map([['http://a.example.com', 30], ['http://b.example.com', 20], ['http://c.example.com', 10]]));
    const started = process.hrtime.bigint();
    if (name.endsWith(', peer')) {
      for (let i = 0; i < calls; i++) sink += router.redirect(videos[i & 1023] as string, peers[i & 63]).length;
    } else if (name.includes(', forwarded')) {
      // 65,536 distinct addresses, or 1,024 that repeat (a proxy's regular viewers).
      const mask = name.endsWith('x1024') ? 1023 : 65535;
      for (let i = 0; i < calls; i++) {
        const viewer = viewerOf(proxy, '127.0.0.1', { 'x-forwarded-for': addresses[i & mask] as string }, trusted);
        sink += router.redirect(videos[i & 1023] as string, viewer).length;
      }
    } else {
      for (let i = 0; i < calls; i++) sink += router.redirect(videos[i & 1023] as string).length;
    }
    samples.get(name)?.push(Number(process.hrtime.bigint() - started) / calls);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const single = median(samples.get('single host') as number[]);
console.log(`# ${calls} calls x ${rounds} rounds, ${process.version}; median ns per call (ratio to single host)`);
for (const [name] of variants) {
  const ns = median(samples.get(name) as number[]);
  console.log(`${name.padEnd(32)} ${ns.toFixed(1).padStart(8)} ns   x${(ns / single).toFixed(3)}`);
}
if (sink === 0) console.log('');
