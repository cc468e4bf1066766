/**
 * What node:http2 hands to JavaScript per request as external strings, and where V8 puts them;
 * `bench/external-strings.sh` runs it. Needs `node --allow-natives-syntax`.
 *
 * For the first requests it prints, per header value, V8's own description of the string
 * (`%DebugPrint`: its instance type) and whether it was allocated in the young generation
 * (`%InYoungGeneration`), all through V8's stdout so that the lines stay in order. Under load it
 * answers like the bare handler and samples the old generation's used size every SAMPLE_EVERY
 * requests, so that the driver can tell how fast the old generation grows per request between
 * mark-compacts. On SIGTERM it prints one JSON line with the samples.
 */
import { createServer } from 'node:http2';
import { getHeapSpaceStatistics } from 'node:v8';

const DESCRIBED_REQUESTS = 3;
const SAMPLE_EVERY = 500;

// Natives syntax is not TypeScript: compiled at run time, with --allow-natives-syntax.
const debugPrint = new Function('value', 'return %DebugPrint(value)') as (value: unknown) => unknown;
const inYoungGeneration = new Function('value', 'return %InYoungGeneration(value)') as (value: unknown) => boolean;

function oldSpaceUsed(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')?.space_used_size ?? 0;
}

let requests = 0;
const samples: Array<[number, number]> = [];
const server = createServer();
server.on('stream', (stream, _headers, _flags, rawHeaders: string[]) => {
  requests++;
  if (requests <= DESCRIBED_REQUESTS) {
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const value = rawHeaders[i + 1];
      debugPrint(`probe: request ${requests} ${rawHeaders[i]} young=${inYoungGeneration(value)} length=${value?.length}`);
      debugPrint(value);
    }
  }
  if (requests % SAMPLE_EVERY === 0) samples.push([requests, oldSpaceUsed()]);
  stream.on('data', () => {});
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    // An empty Response message: the probe measures what the request's headers leave behind.
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
  stream.once('close', () => stream.removeAllListeners());
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as { port: number }).port })));
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ requests, sampleEvery: SAMPLE_EVERY, oldSpaceUsed: samples }));
  process.exit(0);
});
