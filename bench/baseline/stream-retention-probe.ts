/**
 * The smallest node:http2 handler that shows what keeps finished streams past young-generation
 * GCs (docs/performance.md, "What keeps a finished stream"). PROBE chooses what it changes:
 *
 *   base       respond(), end(data), trailers on wantTrailers; nothing else
 *   listeners  + removeAllListeners() on 'close'
 *   table      + the session's streams in a StreamTable instead of node:http2's Map
 *   both       listeners and table
 *
 * Run with `node --max-semi-space-size=2 --trace-gc-nvp dist/bench/baseline/stream-retention-probe.js`
 * and a load on the port it prints; on SIGTERM it prints the requests served, to divide the sum
 * of `promoted=` by.
 */
import { createServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { useStreamTables } from '../../src/grpc/node-http2-internals.js';

const probe = process.env.PROBE ?? 'base';
const ANSWER = Buffer.from([0, 0, 0, 0, 5, 10, 3, 97, 98, 99]);
let requests = 0;

function onWantTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers({ 'grpc-status': '0' });
}
function onEnd(this: ServerHttp2Stream): void {
  this.respond({ ':status': 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
  this.once('wantTrailers', onWantTrailers);
  this.end(ANSWER);
}
function onClose(this: ServerHttp2Stream): void {
  this.removeAllListeners();
}
function ignore(): void {}

const server = createServer();
if (probe === 'table' || probe === 'both') useStreamTables(server, () => console.error('no StreamTable on this Node.js'));
server.on('stream', (stream) => {
  requests++;
  stream.on('data', ignore);
  stream.on('end', onEnd);
  if (probe === 'listeners' || probe === 'both') stream.on('close', onClose);
});
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ probe, requests }));
  process.exit(0);
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
