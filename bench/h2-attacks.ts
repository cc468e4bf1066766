/**
 * The HTTP/2 attacks of docs/security.md against a running service, one at a time, each beside a
 * victim caller on its own connection:
 *
 *   node dist/bench/h2-attacks.js --port PORT [--seconds 5] [--rate 300] [--only NAME,...] [--connections 2000]
 *
 * Start the service with WORKERS=1 so that one worker takes every connection. Prints one row per
 * attack: whether the server cut the attacker off, how fast, with which GOAWAY code, and the
 * victim's calls during it (p99 from schedule), and a fresh connection's first call after it.
 * Its connection flood opens Node.js sockets, which cost this client about as much as the
 * server: for figures, bench/connection-flood.sh floods from Go.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ATTACKS, connectionFlood, runAttack } from './h2-attack/attacks.js';
import { startVictim } from './h2-attack/start-victim.js';
import { Victim } from './h2-attack/victim.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    seconds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '300' },
    only: { type: 'string' },
    connections: { type: 'string', default: '2000' },
    pid: { type: 'string' },
  },
});
if (!values.port) throw new Error('--port is required');
const port = Number(values.port);
const host = values.host as string;
const durationMs = Number(values.seconds) * 1000;
const rate = Number(values.rate);
const only = values.only?.split(',');
/** The worker's resident memory, with --pid. */
const rssMb = (): number | undefined =>
  values.pid ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${values.pid}/status`, 'utf8'))?.[1]) / 1024 : undefined;

const GOAWAY_NAMES: Record<number, string> = { 0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 7: 'REFUSED_STREAM', 9: 'COMPRESSION_ERROR', 11: 'ENHANCE_YOUR_CALM' };
const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');

console.log(
  'attack               connections  cut off  first cut ms  GOAWAY              victim calls  failed  p50 ms  p99 ms  max ms  fresh call ms  RSS MB',
);
const rows: Array<() => Promise<{ name: string; connections: number; cutOff: number; firstCutOffMs: number | undefined; goawayCodes: readonly (number | undefined)[] }>> = [];
for (const attack of ATTACKS) if (!only || only.includes(attack.name)) rows.push(() => runAttack(attack, port, durationMs, { host, reconnect: true }));
if (!only || only.includes('connection-flood')) {
  rows.push(async () => {
    const flood = await connectionFlood(port, Number(values.connections), durationMs, host);
    // Held open a moment, then let go: what the victim sees is the flood's arrival and stay.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    flood.close();
    return { name: `conn-flood ${flood.accepted}/${Number(values.connections)}`, connections: Number(values.connections), cutOff: flood.closed, firstCutOffMs: flood.ms, goawayCodes: [] };
  });
}
for (const run of rows) {
  const victim = startVictim(port, rate, durationMs + 1000, host);
  await victim.ready;
  const rssBefore = rssMb();
  const outcome = await run();
  const report = await victim.report;
  const fresh = new Victim(port, host);
  const freshMs = await fresh.call().catch(() => Number.NaN);
  await fresh.stop();
  const codes = [...new Set(outcome.goawayCodes.map((c) => (c === undefined ? 'none' : (GOAWAY_NAMES[c] ?? String(c)))))].join(',');
  const rss = rssMb();
  console.log(
    [
      outcome.name.padEnd(20),
      String(outcome.connections).padStart(11),
      String(outcome.cutOff).padStart(8),
      f(outcome.firstCutOffMs ?? Number.NaN).padStart(13),
      ('  ' + codes).padEnd(19),
      String(report.calls).padStart(12),
      String(report.failed).padStart(7),
      f(report.p50).padStart(7),
      f(report.p99).padStart(7),
      f(report.max).padStart(7),
      f(freshMs).padStart(14),
      (rss === undefined ? '-' : `${rss.toFixed(0)} (+${(rss - (rssBefore ?? rss)).toFixed(0)})`).padStart(7),
    ].join(' '),
  );
}
