/**
 * The rule's own cost per call (parse, rotate, choose a CDN host, build the answer) for one CDN
 * host and for pools, interleaved over several rounds on the same machine. The whole gRPC call
 * costs far more (bench/cost.sh); this isolates what CDN pools add.
 *   node dist/bench/routing-cost.js [--calls 2000000] [--rounds 7]
 */
import { parseArgs } from 'node:util';
import { OriginAllowList } from '../src/routing/origin-allow-list.js';
import { RedirectRouter, singlePool, type RedirectRule } from '../src/routing/redirect-router.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '2000000' }, rounds: { type: 'string', default: '7' } } });
const calls = Number(values.calls);
const rounds = Number(values.rounds);
const originAllowList = new OriginAllowList(['*.origin-cluster']);
const host = (name: string, weight = 1) => ({ baseUrl: `http://${name}`, weight });

const variants: Array<[string, RedirectRule]> = [
  ['single host', { pools: singlePool([host('cdn.example.com')]), originEvery: 10, originAllowList }],
  ['weighted, 3 hosts', { pools: singlePool([host('a.example.com', 3), host('b.example.com', 2), host('c.example.com')]), originEvery: 10, originAllowList }],
  ['hash, 3 hosts 3:2:1', { pools: singlePool([host('a.example.com', 3), host('b.example.com', 2), host('c.example.com')], 'hash'), originEvery: 10, originAllowList }],
  ['hash, 3 equal hosts', { pools: singlePool([host('a.example.com'), host('b.example.com'), host('c.example.com')], 'hash'), originEvery: 10, originAllowList }],
];
const videos = Array.from({ length: 1024 }, (_, i) => `http://s${i % 7}.origin-cluster/video/${i}/xcg2djHckad.m3u8?token=${i * 31}`);

const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
let sink = 0;
for (let round = 0; round < rounds; round++) {
  for (const [name, rule] of variants) {
    const router = new RedirectRouter(rule);
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) sink += router.redirect(videos[i & 1023] as string).length;
    samples.get(name)?.push(Number(process.hrtime.bigint() - started) / calls);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const single = median(samples.get('single host') as number[]);
console.log(`# ${calls} calls x ${rounds} rounds, ${process.version}; median ns per call (ratio to single host)`);
for (const [name] of variants) {
  const ns = median(samples.get(name) as number[]);
  console.log(`${name.padEnd(20)} ${ns.toFixed(1).padStart(8)} ns   x${(ns / single).toFixed(3)}`);
}
if (sink === 0) console.log('');
