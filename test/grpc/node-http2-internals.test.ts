import { connect, createServer, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { Socket, type AddressInfo } from 'node:net';
import t from 'tap';
import { socketOf, useStreamTable, useStreamTables, usesStreamTable } from '../../src/grpc/node-http2-internals.js';

/**
 * Guards what node-http2-internals.ts reaches into: it fails when a Node.js release moves a
 * session's private table of streams, or stops using it through get, set, delete, size and
 * forEach alone (the StreamTable would then miss a call or throw).
 */
async function serve(onStream: (stream: ServerHttp2Stream) => void) {
  const server = createServer();
  const sessions: ServerHttp2Session[] = [];
  let unsupported = 0;
  useStreamTables(server, () => unsupported++);
  server.on('session', (session) => sessions.push(session));
  server.on('stream', onStream);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return {
    server,
    client,
    sessions,
    unsupported: () => unsupported,
    close: () => new Promise<void>((resolve) => { client.destroy(); server.close(() => resolve()); }),
  };
}

function request(client: ReturnType<typeof connect>, body = 'hello') {
  const stream = client.request({ ':method': 'POST', ':path': '/x' });
  stream.end(body);
  return new Promise<{ status: number | undefined; body: string; code: number }>((resolve) => {
    let status: number | undefined;
    let text = '';
    stream.on('response', (headers) => (status = headers[':status'] as number));
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('close', () => resolve({ status, body: text, code: stream.rstCode ?? 0 }));
  });
}

t.test('this Node.js keeps a session\'s streams where useStreamTable looks, and serves through the table', async (t) => {
  const tables: boolean[] = [];
  const h = await serve((stream) => {
    tables.push(usesStreamTable(stream.session as ServerHttp2Session));
    stream.respond({ ':status': 200 });
    stream.end('answer');
  });
  t.teardown(h.close);
  const answers = await Promise.all(Array.from({ length: 50 }, () => request(h.client)));
  t.same(new Set(answers.map((a) => `${a.status} ${a.body}`)), new Set(['200 answer']), 'fifty concurrent streams answered');
  t.equal(h.unsupported(), 0, 'the session was given a table');
  t.ok(tables.length === 50 && tables.every(Boolean), 'each stream arrived on a session with a StreamTable');
  const session = h.sessions[0] as ServerHttp2Session;
  const state = Object.getOwnPropertySymbols(session).find((symbol) => symbol.description === 'state');
  const streams = (session as unknown as Record<symbol, { streams: { size: number } } | undefined>)[state as symbol]?.streams;
  t.equal(streams?.size, 0, 'every finished stream left the table');
});

t.test('a session destroyed with streams open destroys them through the table (its forEach)', async (t) => {
  const open: ServerHttp2Stream[] = [];
  const h = await serve((stream) => open.push(stream));
  t.teardown(h.close);
  const answers = Array.from({ length: 5 }, () => request(h.client));
  while (open.length < 5) await new Promise((resolve) => setTimeout(resolve, 5));
  const closed = Promise.all(open.map((stream) => new Promise((resolve) => stream.on('close', resolve))));
  h.sessions[0]?.destroy();
  await closed;
  t.ok(open.every((stream) => stream.destroyed), 'all five server streams destroyed');
  t.same((await Promise.all(answers)).map((a) => a.status), [undefined, undefined, undefined, undefined, undefined], 'and none answered');
});

t.test('useStreamTable changes nothing on a session that is not node:http2\'s', async (t) => {
  t.equal(useStreamTable({} as ServerHttp2Session), false);
  t.equal(usesStreamTable({} as ServerHttp2Session), false);
});

t.test('socketOf finds the socket itself behind the Proxy session.socket, and its byte count is the same', async (t) => {
  const h = await serve((stream) => {
    stream.respond({ ':status': 200 });
    stream.end('answer');
  });
  t.teardown(h.close);
  await request(h.client, 'x'.repeat(10_000));
  const session = h.sessions[0] as ServerHttp2Session;
  const socket = socketOf(session);
  t.ok(socket instanceof Socket, 'a net.Socket');
  t.not(socket, session.socket, 'not the Proxy');
  t.equal(socket?.remotePort, session.socket.remotePort, 'the same connection');
  t.ok((socket?.bytesRead ?? 0) > 10_000, 'it counts the bytes the client sent');
  t.equal(socket?.bytesRead, session.socket.bytesRead, 'as the Proxy does');
});

t.test('socketOf gives undefined for a session that is not node:http2\'s', async (t) => {
  t.equal(socketOf({} as ServerHttp2Session), undefined);
});
