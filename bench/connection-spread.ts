import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { credentials, Client } from '@grpc/grpc-js';
import { establishedConnectionsHeldBy } from './process-sockets.js';

/**
 * How the cluster spreads long-lived connections over its workers: starts the service, opens
 * `--connections` HTTP/2 connections at once (each client its own), and counts the connections
 * each worker process holds (from /proc). Repeats `--rounds` times and prints one line a round.
 *
 *   node dist/bench/connection-spread.js --workers 2 --connections 32 --rounds 10
 */
const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '10' },
  },
});
const workers = Number(values.workers);
const connections = Number(values.connections);
const rounds = Number(values.rounds);
const main = new URL('../src/main.js', import.meta.url).pathname;

const service = spawn(process.execPath, [main], {
  env: { ...process.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', WORKERS: String(workers), METRICS_PORT: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const workerPids: number[] = [];
let port = 0;
await new Promise<void>((resolve) => {
  createInterface({ input: service.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as { msg: string; pid: number; port: number };
    if (line.msg === 'worker listening') workerPids.push(line.pid);
    if (line.msg.startsWith('serving gRPC on')) port = line.port;
    if (workerPids.length === workers && port) resolve();
  });
});

const spreads: number[][] = [];
for (let round = 1; round <= rounds; round++) {
  const clients = Array.from(
    { length: connections },
    () => new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
  );
  await Promise.all(clients.map((c) => new Promise((resolve) => c.waitForReady(Date.now() + 5000, resolve))));
  const spread = workerPids.map((pid) => establishedConnectionsHeldBy(pid, port));
  spreads.push(spread);
  console.log(`round ${round}: connections per worker ${spread.join(' / ')}`);
  for (const c of clients) c.close();
  await new Promise((resolve) => setTimeout(resolve, 300));
}
const largestShare = spreads.map((s) => Math.max(...s) / connections).sort((a, b) => a - b);
console.log(
  `largest worker's share of ${connections} connections over ${rounds} rounds: ` +
    `median ${(largestShare[Math.floor(rounds / 2)]! * 100).toFixed(0)}%, ` +
    `min ${(largestShare[0]! * 100).toFixed(0)}%, max ${(largestShare[rounds - 1]! * 100).toFixed(0)}% ` +
    `(even: ${(100 / workers).toFixed(0)}%)`,
);
service.kill('SIGTERM');
