import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { credentials, status } from '@grpc/grpc-js';
import t from 'tap';
import { RedirectClient } from '../helpers/redirect-client.js';
import { makeSelfSignedCertificate } from '../helpers/self-signed.js';
import { HEALTH_CHECK_PATH, spawnService, startService } from '../helpers/service-process.js';

const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const server = makeSelfSignedCertificate('server');
const other = makeSelfSignedCertificate('other');
t.teardown(() => [server.dir, other.dir].forEach((dir) => rmSync(dir, { recursive: true, force: true })));

t.test('with TLS_CERT_FILE and TLS_KEY_FILE the gRPC port speaks TLS', async (t) => {
  const service = await startService({ WORKERS: '1', TLS_CERT_FILE: server.cert, TLS_KEY_FILE: server.key });
  t.teardown(() => service.stop());
  const secure = new RedirectClient(service.port, { host: 'localhost', channelCredentials: credentials.createSsl(readFileSync(server.cert)) });
  const result = await secure.redirect(VIDEO);
  secure.close();
  t.equal(result.code, status.OK, 'a TLS client that trusts the certificate is served');
  t.equal(result.redirect, 'http://cdn.example.com/s1/video/123/xcg2djHckad.m3u8');
  const plaintext = new RedirectClient(service.port, { ownConnection: true });
  const refused = await plaintext.redirect(VIDEO, 2000);
  plaintext.close();
  t.equal(status[refused.code], 'UNAVAILABLE', 'a plaintext client is not');
  const healthCheck = await promisify(execFile)(process.execPath, [HEALTH_CHECK_PATH, `127.0.0.1:${service.port}`], {
    env: { ...process.env, TLS_CERT_FILE: server.cert, TLS_KEY_FILE: server.key },
  });
  t.equal(healthCheck.stdout, 'SERVING\n', 'the health-check script speaks TLS too');
  t.match(service.logs.find((l) => l.msg === 'starting video-balancer')?.['config'], { tls: { certFile: server.cert } });
  t.notMatch(JSON.stringify(service.logs), /PRIVATE KEY/, 'the key never reaches the logs');
});

t.test('with TLS_CA_FILE clients must present a certificate that CA signed', async (t) => {
  // A self-signed certificate is its own CA: a client holding it (and its key) is signed by it.
  const service = await startService({ WORKERS: '1', TLS_CERT_FILE: server.cert, TLS_KEY_FILE: server.key, TLS_CA_FILE: server.cert });
  t.teardown(() => service.stop());
  const root = readFileSync(server.cert);
  const withCertificate = new RedirectClient(service.port, {
    host: 'localhost',
    channelCredentials: credentials.createSsl(root, readFileSync(server.key), readFileSync(server.cert)),
  });
  t.equal((await withCertificate.redirect(VIDEO)).code, status.OK, 'a client with a certificate from the CA is served');
  withCertificate.close();
  const withOther = new RedirectClient(service.port, {
    host: 'localhost',
    channelCredentials: credentials.createSsl(root, readFileSync(other.key), readFileSync(other.cert)),
    ownConnection: true,
  });
  t.equal(status[(await withOther.redirect(VIDEO, 2000)).code], 'UNAVAILABLE', 'a certificate from another CA is refused');
  withOther.close();
  const without = new RedirectClient(service.port, { host: 'localhost', channelCredentials: credentials.createSsl(root), ownConnection: true });
  t.equal(status[(await without.redirect(VIDEO, 2000)).code], 'UNAVAILABLE', 'a client without a certificate is refused');
  without.close();
  const healthCheck = await promisify(execFile)(process.execPath, [HEALTH_CHECK_PATH, `127.0.0.1:${service.port}`], {
    env: { ...process.env, TLS_CERT_FILE: server.cert, TLS_KEY_FILE: server.key, TLS_CA_FILE: server.cert },
  });
  t.equal(healthCheck.stdout, 'SERVING\n', 'the health-check script presents the service certificate');
});

t.test('unreadable or mismatched files stop start-up with one clear line', async (t) => {
  const rows: Array<[Record<string, string>, string]> = [
    [{ TLS_CERT_FILE: server.cert, TLS_KEY_FILE: other.key }, `TLS_KEY_FILE="${other.key}" is invalid: the key does not belong to the certificate in TLS_CERT_FILE`],
    [{ TLS_CERT_FILE: '/nonexistent/cert.pem', TLS_KEY_FILE: server.key }, 'TLS_CERT_FILE="/nonexistent/cert.pem" is invalid: cannot be read (ENOENT)'],
    [{ TLS_CERT_FILE: server.key, TLS_KEY_FILE: server.key }, 'is invalid: expected a PEM file with a CERTIFICATE'],
    [{ TLS_CERT_FILE: server.cert }, 'TLS_KEY_FILE="" is invalid: must be set when TLS_CERT_FILE is'],
  ];
  for (const [env, message] of rows) {
    const service = spawnService(env);
    const { code } = await service.exit();
    t.equal(code, 1, `exit 1 for ${JSON.stringify(env)}`);
    t.match(service.stderr, message);
    t.equal(service.stderr.trim().split('\n').length, 1, 'one line');
  }
});
