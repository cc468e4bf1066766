/**
 * A load generator for machines without ghz: grpc-js clients on worker threads (piscina), one
 * HTTP/2 connection per client. Open loop at a fixed rate (`--rps`, like ghz; latency measured
 * from each call's intended send time, so it is safe from coordinated omission) or closed loop
 * at maximum speed (`--rps 0`). Prints a ghz-like summary, or JSON with `--json`.
 *
 *   node dist/bench/load.js --target 127.0.0.1:50051 [--rps 15000] [--duration 60s] [--warmup 2s]
 *     [--connections 1] [--concurrency 50] [--threads N] [--video URL] [--client grpc-js|http2] [--json]
 *     [--progress-jsonl]
 *
 * --client http2 speaks gRPC over node:http2 directly: the grpc-js client costs so much CPU per
 * call (see the README) that one core of it cannot offer 15,000 calls/s.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { Piscina } from 'piscina';
import type { LoadResult, LoadTask } from './load-worker.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: '127.0.0.1:50051' },
    rps: { type: 'string', default: '0' },
    duration: { type: 'string', default: '10s' },
    warmup: { type: 'string', default: '2s' },
    connections: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '50' },
    threads: { type: 'string' },
    video: { type: 'string', default: 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8' },
    deadline: { type: 'string', default: '20s' },
    client: { type: 'string', default: 'grpc-js' },
    json: { type: 'boolean', default: false },
    'progress-jsonl': { type: 'boolean', default: false },
  },
});

function parseDuration(text: string, name: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!match) throw new Error(`--${name} must look like 500ms, 60s or 2m, got ${text}`);
  const unit = match[2] ?? 's';
  return Number(match[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000);
}
function parseCount(text: string, name: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number >= ${min}, got ${text}`);
  return value;
}

const rps = parseCount(values.rps, 'rps', 0);
const durationMs = parseDuration(values.duration, 'duration');
const warmupMs = parseDuration(values.warmup, 'warmup');
const connections = parseCount(values.connections, 'connections', 1);
const concurrency = parseCount(values.concurrency, 'concurrency', 1);
const threads = Math.min(connections, values.threads ? parseCount(values.threads, 'threads', 1) : Math.max(1, availableParallelism() - 1));
const deadlineMs = parseDuration(values.deadline, 'deadline');
if (values.client !== 'grpc-js' && values.client !== 'http2') throw new Error(`--client must be grpc-js or http2, got ${values.client}`);
const client = values.client;

/** Splits `total` into `parts` whole shares that add up to it. */
const share = (total: number, parts: number, index: number) => Math.floor(total / parts) + (index < total % parts ? 1 : 0);

const pool = new Piscina({
  filename: fileURLToPath(new URL('./load-worker.js', import.meta.url)),
  minThreads: threads,
  maxThreads: threads,
  idleTimeout: 1000,
});
const progress = new Int32Array(new SharedArrayBuffer(8 * threads));
const startAt = Date.now() + 500 + warmupMs;
const tasks: Promise<LoadResult>[] = [];
for (let index = 0; index < threads; index++) {
  const task: LoadTask = {
    target: values.target,
    video: values.video,
    connections: share(connections, threads, index),
    concurrency: share(concurrency, threads, index),
    rate: rps === 0 ? 0 : rps / threads,
    durationMs,
    startAt,
    warmupMs,
    progress,
    index,
    deadlineMs,
    client,
  };
  tasks.push(pool.run(task));
}

const sumProgress = (offset: number) => progress.filter((_, i) => i % 2 === offset).reduce((a, b) => a + b, 0);
const ticker = setInterval(() => {
  if (Date.now() < startAt) {
    if (!values.json && !values['progress-jsonl']) process.stderr.write('\rwarming up...   ');
    return;
  }
  const elapsed = Math.max(0.001, (Date.now() - startAt) / 1000);
  const done = sumProgress(0);
  if (values['progress-jsonl']) {
    // One JSON line a second on stderr, for bench/soak.sh.
    process.stderr.write(`${JSON.stringify({ elapsedS: Math.round(elapsed), calls: done, errors: sumProgress(1) })}\n`);
  } else if (!values.json) {
    process.stderr.write(`\r[${elapsed.toFixed(0)}s/${(durationMs / 1000).toFixed(0)}s] ${done} calls, ${(done / elapsed).toFixed(0)} calls/s   `);
  }
}, 1000);

const results = await Promise.all(tasks);
const totalMs = Date.now() - startAt;
clearInterval(ticker);
if (!values.json && !values['progress-jsonl']) process.stderr.write('\n');
await pool.destroy();

const merged = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
const statuses: Record<string, number> = {};
let origin = 0;
let cdn = 0;
let skipped = 0;
for (const result of results) {
  merged.add(hdr.decodeFromCompressedBase64(result.histogram));
  for (const [code, n] of Object.entries(result.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  origin += result.origin;
  cdn += result.cdn;
  skipped += result.skipped;
}
const count = merged.totalCount;
const ms = (micros: number) => micros / 1000;
const percentiles = [10, 25, 50, 75, 90, 95, 99, 99.9].map((p) => ({ percentile: p, ms: ms(merged.getValueAtPercentile(p)) }));
const summary = {
  mode: rps === 0 ? 'closed-loop' : 'open-loop',
  client,
  target: values.target,
  requestedRps: rps,
  connections,
  concurrency: rps === 0 ? concurrency : undefined,
  threads,
  count,
  totalMs,
  slowestMs: ms(merged.maxValue),
  fastestMs: ms(merged.minNonZeroValue),
  averageMs: ms(merged.mean),
  rps: count / (totalMs / 1000),
  percentiles,
  statuses,
  origin,
  cdn,
  skipped,
};

if (values.json) {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} else {
  const line = (label: string, value: string) => `  ${label.padEnd(14)}${value}`;
  const out = [
    '',
    'Summary:',
    line('Mode:', `${summary.mode}${rps ? ` at ${rps} calls/s` : `, ${concurrency} in flight`}, ${connections} connection(s), ${threads} thread(s), ${client} client`),
    line('Count:', String(count)),
    line('Total:', `${(totalMs / 1000).toFixed(2)} s`),
    line('Slowest:', `${summary.slowestMs.toFixed(2)} ms`),
    line('Fastest:', `${summary.fastestMs.toFixed(2)} ms`),
    line('Average:', `${summary.averageMs.toFixed(2)} ms`),
    line('Requests/sec:', summary.rps.toFixed(2)),
    '',
    'Response time histogram:',
    ...latencyHistogram(merged as hdr.JsHistogram),
    '',
    'Latency distribution:',
    ...percentiles.map(({ percentile, ms: value }) => `  ${percentile} % in ${value.toFixed(2)} ms`),
    '',
    'Status code distribution:',
    ...Object.entries(statuses).map(([code, n]) => `  [${code}]   ${n} responses`),
    '',
    'Redirect targets:',
    `  origin ${origin} (${((100 * origin) / Math.max(1, origin + cdn)).toFixed(2)}%), cdn ${cdn} (${((100 * cdn) / Math.max(1, origin + cdn)).toFixed(2)}%)`,
    ...(skipped ? ['', `Not sent (1000 calls per connection already in flight): ${skipped}`] : []),
    '',
  ];
  process.stdout.write(out.join('\n'));
}

/** Ten linear buckets from fastest to slowest, as ghz prints them. */
function latencyHistogram(histogram: hdr.JsHistogram): string[] {
  const min = histogram.minNonZeroValue;
  const max = histogram.maxValue;
  const buckets = 10;
  const width = Math.max(1, (max - min) / buckets);
  const counts = new Array<number>(buckets + 1).fill(0);
  const iterator = histogram.recordedValuesIterator;
  iterator.reset();
  while (iterator.hasNext()) {
    const value = iterator.next();
    const bucket = Math.min(buckets, Math.floor((value.valueIteratedTo - min) / width));
    counts[bucket] = (counts[bucket] ?? 0) + value.countAtValueIteratedTo;
  }
  const most = Math.max(1, ...counts);
  return counts.map((n, i) => `  ${(ms(min + i * width)).toFixed(3).padStart(9)} [${n}]\t|${'∎'.repeat(Math.round((40 * n) / most))}`);
}
