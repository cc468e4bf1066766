import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { findFreePort } from '../../src/cluster/free-port.js';
import { NginxServer, nginxAvailable } from '../helpers/nginx.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { spawnService, startService } from '../helpers/service-process.js';

/**
 * Signed CDN URLs checked by a real nginx with secure_link, configured as an operator would:
 * the service's answer is fetched from nginx as a player would fetch it.
 */
t.ok(nginxAvailable(), 'nginx is installed (apt-get install nginx)');

const SECRET = 'sup3r-s3cret value';
const cdn = new NginxServer(
  await findFreePort('127.0.0.1'),
  `location / {
      secure_link $arg_md5,$arg_expires;
      secure_link_md5 "$secure_link_expires$uri ${SECRET}";
      if ($secure_link = "") { return 403; }
      if ($secure_link = "0") { return 410; }
      return 200 "$uri\\n";
    }`,
);
await cdn.start();
t.teardown(() => cdn.remove());
const secretFile = join(cdn.prefix, 'signing-secret');
writeFileSync(secretFile, `${SECRET}\n`);

const signingEnv = {
  WORKERS: '1',
  ORIGIN_EVERY: '0',
  CDN_HOST: `127.0.0.1:${cdn.port}`,
  CDN_SIGNING: 'nginx-secure-link',
  CDN_SIGNING_SECRET_FILE: secretFile,
  METRICS_PORT: String(await findFreePort('127.0.0.1')),
  METRICS_HOST: '127.0.0.1',
};
const service = await startService(signingEnv);
t.teardown(() => service.stop());
const client = new RedirectClient(service.port, { ownConnection: true });
t.teardown(() => client.close());

async function signedUrl(video: string): Promise<URL> {
  const result = await client.redirect(video);
  t.equal(result.code, 0, `${video} is answered`);
  return new URL(result.redirect as string);
}

/** Paths as sent by callers, and the $uri nginx makes of them (after /s1). */
const PATHS: Array<[path: string, nginxUri: string]> = [
  ['/video/123/xcg2djHckad.m3u8', '/video/123/xcg2djHckad.m3u8'],
  ['/video/123/seg%2001.ts?token=abc', '/video/123/seg 01.ts'],
  ['/video/a%2Fb/1.ts', '/video/a/b/1.ts'],
  ['/video//double///slash.ts', '/video/double/slash.ts'],
  ['/video/./x/../1.ts', '/video/1.ts'],
  ['/video/%2e%2E/up.ts', '/up.ts'],
  ['/video/caf%C3%A9.ts#t=30', '/video/café.ts'],
  ['/video/semi;v=2/1.ts', '/video/semi;v=2/1.ts'],
];

t.test('nginx serves every signed answer (200), whatever percent-encoding and dot segments the path has', async (t) => {
  for (const [path, uri] of PATHS) {
    const url = await signedUrl(`http://s1.origin-cluster${path}`);
    t.match(url.search, /[?&]md5=[A-Za-z0-9_-]{22}&expires=\d+/, `${path}: md5 and expires added`);
    if (path.includes('?token=abc')) t.match(url.search, /^\?token=abc&md5=/, 'the caller\'s query is kept, first');
    if (path.includes('#')) t.equal(url.hash, '#t=30', 'the fragment is kept, last');
    const response = await fetch(url);
    t.equal(response.status, 200, `${path}: nginx accepts the signature`);
    t.equal(await response.text(), `/s1${uri}\n`, `${path}: nginx's $uri is ${uri}`);
  }
});

t.test("nginx's own refusals: a changed path, a changed expiry (403), an expired link (410)", async (t) => {
  const url = await signedUrl('http://s1.origin-cluster/video/1.ts');
  const changedPath = new URL(url);
  changedPath.pathname = '/s1/video/2.ts';
  t.equal((await fetch(changedPath)).status, 403, 'another file with this signature: 403');
  const changedExpiry = new URL(url);
  changedExpiry.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
  t.equal((await fetch(changedExpiry)).status, 403, 'a longer expiry: 403');
  const expires = Number(url.searchParams.get('expires'));
  t.ok(Math.abs(expires - (Math.floor(Date.now() / 1000) + 3600)) <= 2, `expires in CDN_SIGNING_TTL_S (default 3600 s): ${expires}`);

  const shortLived = await startService({ ...signingEnv, CDN_SIGNING_TTL_S: '1', METRICS_PORT: '0' });
  t.teardown(() => shortLived.stop());
  const shortClient = new RedirectClient(shortLived.port, { ownConnection: true });
  t.teardown(() => shortClient.close());
  const soon = new URL((await shortClient.redirect('http://s1.origin-cluster/video/1.ts')).redirect as string);
  t.equal((await fetch(soon)).status, 200, 'valid at first');
  await new Promise((resolve) => setTimeout(resolve, 2100));
  t.equal((await fetch(soon)).status, 410, 'expired after CDN_SIGNING_TTL_S: 410');
});

t.test('a wrong secret: 403', async (t) => {
  const wrong = await startService({ ...signingEnv, CDN_SIGNING_SECRET_FILE: '', CDN_SIGNING_SECRET: 'not the secret', METRICS_PORT: '0' });
  t.teardown(() => wrong.stop());
  const wrongClient = new RedirectClient(wrong.port, { ownConnection: true });
  t.teardown(() => wrongClient.close());
  const url = (await wrongClient.redirect('http://s1.origin-cluster/video/1.ts')).redirect as string;
  t.equal((await fetch(url)).status, 403);
});

t.test('origin answers are never signed', async (t) => {
  const everyCall = await startService({ ...signingEnv, ORIGIN_EVERY: '1', METRICS_PORT: '0' });
  t.teardown(() => everyCall.stop());
  const originClient = new RedirectClient(everyCall.port, { ownConnection: true });
  t.teardown(() => originClient.close());
  t.equal((await originClient.redirect('http://s1.origin-cluster/video/1.ts')).redirect, 'http://s1.origin-cluster/video/1.ts');
});

t.test('the secret appears in no log line, no metric and no error message', async (t) => {
  const metrics = await (await fetch(`http://127.0.0.1:${signingEnv.METRICS_PORT}/metrics`)).text();
  t.notMatch(metrics, SECRET, 'metrics');
  t.notMatch(service.describeLogs(), SECRET, 'logs, including the start-up configuration');
  t.match(
    JSON.stringify(service.logs.find((l) => l.msg === 'starting video-balancer')?.['config']),
    /"signing":\{"scheme":"nginx-secure-link","ttlSeconds":3600\}/,
    'the configuration names the scheme and TTL, and leaves the secret out',
  );
  const bad = spawnService({ CDN_SIGNING: 'nginx-secure-link', CDN_SIGNING_SECRET: SECRET, CDN_SIGNING_TTL_S: 'forever' });
  const { code } = await bad.exit();
  t.equal(code, 1);
  t.match(bad.stderr, /^video-balancer: invalid configuration: CDN_SIGNING_TTL_S="forever" is invalid/);
  t.notMatch(bad.stderr + bad.describeLogs(), SECRET, 'a configuration error does not print it');
});

t.test('signing on with no secret stops start-up with one clear line', async (t) => {
  const missing = spawnService({ CDN_SIGNING: 'nginx-secure-link' });
  t.equal((await missing.exit()).code, 1);
  t.equal(missing.stderr, 'video-balancer: invalid configuration: CDN_SIGNING="nginx-secure-link" is invalid: needs a secret: set CDN_SIGNING_SECRET_FILE (or CDN_SIGNING_SECRET)\n');
  const empty = join(cdn.prefix, 'empty-secret');
  writeFileSync(empty, '\n');
  const emptyFile = spawnService({ CDN_SIGNING: 'nginx-secure-link', CDN_SIGNING_SECRET_FILE: empty });
  t.equal((await emptyFile.exit()).code, 1);
  t.match(emptyFile.stderr, /CDN_SIGNING_SECRET_FILE=".*empty-secret" is invalid: is empty/);
});
