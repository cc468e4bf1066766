import { Server, ServerCredentials } from '@grpc/grpc-js';
import t from 'tap';
import { listenWithReusePort } from '../../src/grpc/grpc-js-internals.js';

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
