/**
 * A Victim in a process of its own, so that the attack client's work does not delay its timers:
 *   node dist/bench/h2-attack/victim-process.js PORT RATE MS [HOST]
 * Prints `ready` once its connection answered a first call, then after MS milliseconds one JSON
 * VictimReport.
 */
import { Victim } from './victim.js';

const [port, rate, ms, host = '127.0.0.1'] = process.argv.slice(2);
const victim = new Victim(Number(port), host);
await victim.call();
process.stdout.write('ready\n');
victim.start(Number(rate));
await new Promise((resolve) => setTimeout(resolve, Number(ms)));
process.stdout.write(`${JSON.stringify(await victim.stop())}\n`);
