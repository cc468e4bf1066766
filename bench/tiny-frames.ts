/**
 * What a request sent in 1-byte DATA frames costs a worker: `node dist/bench/tiny-frames.js
 * --port P --pid WORKER_PID [--bytes 60000] [--connections 4]`. Each connection sends one whole
 * Redirect call, its message one byte per DATA frame, and waits for the answer or the close;
 * the worker's CPU comes from /proc (utime + stime). Prints CPU seconds, CPU per KiB read, how
 * each call ended and how long it took.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RawConnection, tinyFrameRequest } from './h2-attack/attacks.js';

const { values } = parseArgs({
  options: { port: { type: 'string' }, pid: { type: 'string' }, bytes: { type: 'string', default: '60000' }, connections: { type: 'string', default: '4' } },
});
const port = Number(values.port);
const pid = Number(values.pid);
const bytes = Number(values.bytes);
const count = Number(values.connections);
if (!(port > 0) || !(pid > 0)) throw new Error('usage: tiny-frames --port P --pid WORKER_PID [--bytes N] [--connections N]');

/** utime + stime of `pid`, in seconds (fields 14 and 15 of /proc/PID/stat, in clock ticks of 10 ms). */
function cpuSeconds(): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const cpuBefore = cpuSeconds();
const started = performance.now();
let wireBytes = 0;
const outcomes = await Promise.all(
  Array.from({ length: count }, async () => {
    const connection = new RawConnection(port);
    await connection.accepted;
    const request = tinyFrameRequest(1, bytes);
    wireBytes += request.length;
    await connection.write(request);
    const deadline = performance.now() + 60_000;
    while (!connection.endedStreams.has(1) && !connection.isClosed && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const outcome = connection.endedStreams.has(1) ? 'answered' : connection.isClosed ? `closed (GOAWAY ${connection.goawayCode ?? 'none'})` : 'no answer in 60 s';
    const ms = performance.now() - started;
    connection.destroy();
    return { outcome, ms };
  }),
);
const cpu = cpuSeconds() - cpuBefore;
console.log(`${count} connections x ${bytes}-byte message in 1-byte DATA frames (${(wireBytes / 1024).toFixed(0)} KiB on the wire)`);
console.log(`worker CPU ${cpu.toFixed(2)} s, ${((cpu * 1e6) / (wireBytes / 1024)).toFixed(0)} µs per KiB read`);
for (const { outcome, ms } of outcomes) console.log(`  ${outcome} after ${ms.toFixed(0)} ms`);
