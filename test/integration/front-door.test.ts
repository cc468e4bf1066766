import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { credentials, status } from '@grpc/grpc-js';
import t from 'tap';
import { findFreePort } from '../../src/cluster/free-port.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { makeSelfSignedCertificate } from '../helpers/self-signed.js';
import { startService } from '../helpers/service-process.js';

/**
 * The front door for players over HTTPS: HTTP/2 and HTTP/1.1 on one port, CORS, certificates
 * renewed in place on both ports, and its limits, with real TLS clients over real sockets.
 */
const VIDEO = 'http://s1.origin-cluster/video/123/x.m3u8';
const CDN = 'http://cdn.test/s1/video/123/x.m3u8';
const first = makeSelfSignedCertificate('first');
const second = makeSelfSignedCertificate('second');
const live = mkdtempSync(join(tmpdir(), 'vb-live-certs-'));
t.teardown(() => [first.dir, second.dir, live].forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const certFile = join(live, 'tls.crt');
const keyFile = join(live, 'tls.key');
/** Puts a pair in place as certbot does: each file replaced whole (rename), key first. */
const install = (pair: { cert: string; key: string }) => {
  copyFileSync(pair.key, `${keyFile}.new`);
  renameSync(`${keyFile}.new`, keyFile);
  copyFileSync(pair.cert, `${certFile}.new`);
  renameSync(`${certFile}.new`, certFile);
};
install(first);
const trusted = Buffer.concat([readFileSync(first.cert), readFileSync(second.cert)]);
const fingerprint = (pem: string) => new X509Certificate(readFileSync(pem)).fingerprint256;

const httpPort = await findFreePort('127.0.0.1');
const metricsPort = await findFreePort('127.0.0.1');
const service = await startService({
  WORKERS: '1',
  CDN_HOST: 'cdn.test',
  HTTP_PORT: String(httpPort),
  HTTP_TLS_CERT_FILE: certFile,
  HTTP_TLS_KEY_FILE: keyFile,
  TLS_CERT_FILE: certFile,
  TLS_KEY_FILE: keyFile,
  HTTP_HEADERS_TIMEOUT_MS: '1000',
  METRICS_PORT: String(metricsPort),
  METRICS_HOST: '127.0.0.1',
});
t.teardown(() => service.stop());
const base = `https://localhost:${httpPort}`;
const path = `/redirect?video=${encodeURIComponent(VIDEO)}`;

function h2Session(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(base, { ca: trusted });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

function h2Get(session: ClientHttp2Session, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers });
    stream.on('response', (response) => {
      stream.resume();
      stream.on('end', () => resolve({ status: response[':status'] as number, headers: response }));
    });
    stream.on('error', reject);
    stream.end();
  });
}

function h1(method: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; alpn: string | false; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', servername: 'localhost', port: httpPort, path, method, headers, ca: trusted, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode as number, headers: res.headers, alpn: (res.socket as TLSSocket).alpnProtocol ?? false, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The certificate a new TLS connection to `port` is given. */
function servedCertificate(port: number, alpn = 'h2'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: trusted, ALPNProtocols: [alpn] }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? 'none');
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

t.test('HTTPS on one port: HTTP/2 and HTTP/1.1 by ALPN, the same answer, CORS on it', async (t) => {
  const session = await h2Session();
  t.teardown(() => session.close());
  t.equal(session.alpnProtocol, 'h2', 'a client offering h2 gets HTTP/2');
  const answer = await h2Get(session);
  t.equal(answer.status, 302);
  t.equal(answer.headers['location'], CDN);
  t.equal(answer.headers['access-control-allow-origin'], '*', 'CORS: * by default');
  const old = await h1('GET', { origin: 'https://player.example' });
  t.not(old.alpn, 'h2', `a client that does not offer h2 (Node's https) gets HTTP/1.1 (ALPN: ${old.alpn})`);
  t.equal(old.status, 302);
  t.equal(old.headers['location'], CDN);
  t.equal(old.headers['access-control-allow-origin'], '*');
  const head = await h1('HEAD');
  t.same([head.status, head.headers['location'], head.body], [302, CDN, ''], 'HEAD answers as GET does, without a body');
  const bad = await h2Get(session, { ':path': '/redirect?video=ftp%3A%2F%2Fx' });
  t.equal(bad.status, 400, 'a bad video is 400');
  t.equal(bad.headers['access-control-allow-origin'], '*', 'with CORS, so that a browser player can read why');
});

t.test('a CORS preflight is answered 204 with the methods it may use', async (t) => {
  const preflight = await h1('OPTIONS', { origin: 'https://player.example', 'access-control-request-method': 'GET' });
  t.equal(preflight.status, 204);
  t.equal(preflight.headers['access-control-allow-origin'], '*');
  t.equal(preflight.headers['access-control-allow-methods'], 'GET, HEAD');
  t.equal((await h1('POST')).status, 405, 'another method: 405');
});

t.test('certificates renewed in place on both ports: open connections keep theirs, new ones get the new pair, same processes', async (t) => {
  const pids = service.liveWorkerPids();
  const session = await h2Session();
  t.teardown(() => session.close());
  const grpc = new RedirectClient(service.port, { host: 'localhost', channelCredentials: credentials.createSsl(trusted) });
  t.teardown(() => grpc.close());
  t.equal((await grpc.redirect(VIDEO)).code, status.OK, 'a gRPC call over TLS before');
  t.equal(await servedCertificate(httpPort), fingerprint(first.cert), 'the front door serves the first certificate');
  const since = service.logs.length;
  install(second);
  await service.waitForLog((l) => l.msg?.startsWith('certificate reloaded on the http port') === true, 10_000, since);
  await service.waitForLog((l) => l.msg?.startsWith('certificate reloaded on the grpc port') === true, 10_000, since);
  t.equal(await servedCertificate(httpPort), fingerprint(second.cert), 'a new front-door connection gets the new certificate (h2)');
  t.equal(await servedCertificate(httpPort, 'http/1.1'), fingerprint(second.cert), '(and http/1.1)');
  t.equal(await servedCertificate(service.port), fingerprint(second.cert), 'a new gRPC connection too');
  t.equal((session.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256, fingerprint(first.cert), 'the open HTTP/2 session keeps the first');
  t.equal((await h2Get(session)).status, 302, 'and keeps being answered');
  t.equal((await grpc.redirect(VIDEO)).code, status.OK, 'the open gRPC connection too');
  t.same(service.liveWorkerPids(), pids, 'the same worker processes');

  // A pair that does not load: the second certificate with the first key.
  const refusedSince = service.logs.length;
  copyFileSync(first.key, `${keyFile}.new`);
  renameSync(`${keyFile}.new`, keyFile);
  const refused = await service.waitForLog((l) => l.msg?.startsWith('certificate reload refused on the http port') === true, 10_000, refusedSince);
  t.match(refused.msg, /HTTP_TLS_KEY_FILE=".*tls\.key" is invalid: the key does not belong to the certificate in HTTP_TLS_CERT_FILE/, 'one line naming the file');
  t.equal(await servedCertificate(httpPort), fingerprint(second.cert), 'the running pair stays');
  t.equal((await h2Get(await h2Session())).status, 302, 'and new connections are served');
  install(second);
});

t.test('a slowloris of hundreds of half-sent requests is cut off by the headers timeout; a player stays fast', async (t) => {
  const since = Date.now();
  const silent: Socket[] = await Promise.all(
    Array.from({ length: 200 }, () => new Promise<Socket>((resolve) => {
      const socket = netConnect(httpPort, '127.0.0.1', () => resolve(socket));
      socket.on('error', () => undefined);
      // Flowing, so that the server's close is seen.
      socket.resume();
    })),
  );
  const halfSent: TLSSocket[] = await Promise.all(
    Array.from({ length: 100 }, () => new Promise<TLSSocket>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: httpPort, servername: 'localhost', ca: trusted, ALPNProtocols: ['http/1.1'] }, () => {
        socket.write('GET /redirect HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
        resolve(socket);
      });
      socket.on('error', () => undefined);
      socket.resume();
    })),
  );
  const all = [...silent, ...halfSent];
  t.teardown(() => all.forEach((s) => s.destroy()));
  const session = await h2Session();
  t.teardown(() => session.close());
  const latencies: number[] = [];
  while (Date.now() - since < 2500) {
    const started = performance.now();
    t.equal((await h2Get(session)).status, 302, 'the player is answered', { diagnostic: false });
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const deadline = Date.now() + 5000;
  while (all.some((s) => !s.closed) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const open = all.filter((s) => !s.closed).length;
  t.comment(`still open: ${silent.filter((s) => !s.closed).length} silent, ${halfSent.filter((s) => !s.closed).length} half-sent`);
  t.equal(open, 0, `all 300 cut off (handshake never begun: 200, headers never ended: 100) within ${((Date.now() - since) / 1000).toFixed(1)} s`);
  latencies.sort((x, y) => x - y);
  t.ok((latencies.at(-1) as number) < 500, `the player's slowest answer took ${latencies.at(-1)?.toFixed(0)} ms (of ${latencies.length})`);
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const counted = Number(/^balancer_connections_closed_total\{reason="headers_timeout",port="http"\} (\d+)$/m.exec(text)?.[1]);
  t.ok(counted >= 300, `balancer_connections_closed_total{reason="headers_timeout",port="http"} ${counted}`);
  // The worker's line travels a pipe to the test; the metric above came through the primary.
  const logged = await service.waitForLog((l) => l.reason === 'headers_timeout' && l.port === 'http', 5000).catch(() => undefined);
  t.ok(logged, 'and logged (rate-limited)');
});
