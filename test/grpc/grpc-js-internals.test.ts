import { Server, ServerCredentials } from '@grpc/grpc-js';
import t from 'tap';
import { connect } from 'node:http2';
import {
  addHttp2ServerOptions,
  http2ServersOf,
  interceptMethodStreams,
  listenWithReusePort,
  methodStreamsIntercepted,
} from '../../src/grpc/grpc-js-internals.js';
import { H2GrpcClient } from '../helpers/h2-grpc-call.js';

const bind = (server: Server, address: string) =>
  new Promise<number>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );

t.test('the pinned grpc-js still has what listenWithReusePort hooks: two servers share one port', async (t) => {
  const first = new Server();
  const second = new Server();
  t.teardown(() => {
    first.forceShutdown();
    second.forceShutdown();
  });
  t.equal(listenWithReusePort(first), true, 'the hook engaged on the first server');
  t.equal(listenWithReusePort(second), true, 'and on the second');
  const port = await bind(first, '127.0.0.1:0');
  t.equal(await bind(second, `127.0.0.1:${port}`), port, 'the second bound the same port beside the first');
});

t.test('without the hook the same port is refused, so the test above proves the hook', async (t) => {
  const first = new Server();
  const second = new Server();
  t.teardown(() => {
    first.forceShutdown();
    second.forceShutdown();
  });
  listenWithReusePort(first);
  const port = await bind(first, '127.0.0.1:0');
  await t.rejects(bind(second, `127.0.0.1:${port}`), /No address added out of total 1 resolved/);
});

t.test('the pinned grpc-js still dispatches through the hot-path hook: one method to us, the rest to grpc-js', async (t) => {
  // As GrpcServer configures it: with channelz on, grpc-js dispatches through _channelzHandler.
  const server = new Server({ 'grpc.enable_channelz': 0 });
  t.teardown(() => server.forceShutdown());
  const seen: string[] = [];
  t.equal(
    interceptMethodStreams(server, '/test.Service/Hot', (stream, headers) => {
      seen.push(headers[':path'] as string);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true });
    }),
    true,
    'the hook engaged',
  );
  t.equal(methodStreamsIntercepted(server), false, 'not before the server listens');
  const port = await bind(server, '127.0.0.1:0');
  t.equal(methodStreamsIntercepted(server), true, 'grpc-js bound its HTTP/2 server\'s streams to the hook');
  const client = new H2GrpcClient(port);
  t.teardown(() => client.close());
  t.equal((await client.call({ path: '/test.Service/Hot', chunks: [] })).grpcStatus, '0', 'the hooked method is answered by us');
  const other = await client.call({ path: '/test.Service/Other', chunks: [] });
  t.equal(other.grpcStatus, '12', 'another method still reaches grpc-js (UNIMPLEMENTED here)');
  t.same(seen, ['/test.Service/Hot']);
});

t.test('a server without the hook, or with channelz on, reports that streams are not intercepted', async (t) => {
  const plain = new Server({ 'grpc.enable_channelz': 0 });
  const withChannelz = new Server();
  t.teardown(() => [plain, withChannelz].forEach((s) => s.forceShutdown()));
  interceptMethodStreams(withChannelz, '/test.Service/Hot', () => undefined);
  await bind(plain, '127.0.0.1:0');
  await bind(withChannelz, '127.0.0.1:0');
  t.equal(methodStreamsIntercepted(plain), false, 'no hook');
  t.equal(methodStreamsIntercepted(withChannelz), false, 'channelz dispatch bypasses the hook, and the check sees it');
});

t.test('the pinned grpc-js still creates its HTTP/2 servers from the options addHttp2ServerOptions adds to', async (t) => {
  const server = new Server({ 'grpc.max_concurrent_streams': 7 });
  t.teardown(() => server.forceShutdown());
  t.equal(addHttp2ServerOptions(server, { maxHeaderListPairs: 64, settings: { maxHeaderListSize: 5000 } }), true, 'the member is there');
  t.same(http2ServersOf(server), [], 'no HTTP/2 server before bind');
  const port = await bind(server, '127.0.0.1:0');
  t.equal(http2ServersOf(server).length, 1, 'one HTTP/2 server after bind');
  const session = connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.close());
  await new Promise((resolve) => session.once('remoteSettings', resolve));
  t.equal(session.remoteSettings.maxHeaderListSize, 5000, 'the added setting is advertised');
  t.equal(session.remoteSettings.maxConcurrentStreams, 7, "grpc-js's own setting is kept");
});

t.test('addHttp2ServerOptions changes nothing and says so when grpc-js has moved the member', async (t) => {
  const moved = {} as unknown as Server;
  t.equal(addHttp2ServerOptions(moved, { maxHeaderListPairs: 64 }), false);
  t.same(moved, {});
  t.same(http2ServersOf(moved), []);
});
