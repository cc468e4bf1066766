/**
 * The floor the hot path is measured against: a minimal unary Redirect handler on bare
 * node:http2, with the service's codec and rule and nothing else (no grpc-js, no deadline, no
 * compression, no limits). Not part of the service; `bench/cost.sh --baseline bare-http2` runs it.
 */
import { createServer, constants } from 'node:http2';
import { decodeRequestVideo, encodeResponse } from '../../src/grpc/redirect-codec.js';
import { OriginAllowList } from '../../src/routing/origin-allow-list.js';
import { RedirectRouter, singlePool } from '../../src/routing/redirect-router.js';
import { LISTEN_BACKLOG } from '../../src/runtime/listen-backlog.js';

const router = new RedirectRouter({
  pools: singlePool([{ baseUrl: 'http://cdn.example.com', weight: 1 }]),
  originEvery: 10,
  originAllowList: new OriginAllowList(['*.origin-cluster']),
});

const server = createServer();
server.on('stream', (stream) => {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    try {
      const answer = encodeResponse(router.redirect(decodeRequestVideo(body.subarray(5))), 5);
      answer[0] = 0;
      answer.writeUInt32BE(answer.length - 5, 1);
      stream.respond({ [constants.HTTP2_HEADER_STATUS]: 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(answer);
    } catch (error) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-status': '3', 'grpc-message': encodeURI((error as Error).message) }, { endStream: true });
    }
  });
});
// The service's accept queue, so that a burst of connections is not measured against Node's 511.
server.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, () => console.log(JSON.stringify({ port: (server.address() as { port: number }).port })));
