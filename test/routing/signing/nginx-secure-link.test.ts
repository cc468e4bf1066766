import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import t from 'tap';
import { NginxSecureLinkSigner } from '../../../src/routing/signing/nginx-secure-link.js';
import { appendToQuery, SigningSecret } from '../../../src/routing/signing/url-signer.js';

const NOW_MS = 1_700_000_000_500;
const signer = new NginxSecureLinkSigner(new SigningSecret('s3cret'), 3600);
const md5 = (text: string) => createHash('md5').update(text).digest('base64url');

t.test('md5 is base64url MD5 of expires, $uri and the secret; expires = now + TTL', async (t) => {
  const signed = signer.sign('http://cdn.test/s1/video/1.ts', 'http://cdn.test'.length, NOW_MS);
  const expires = 1_700_000_000 + 3600;
  t.equal(signed, `http://cdn.test/s1/video/1.ts?md5=${md5(`${expires}/s1/video/1.ts s3cret`)}&expires=${expires}`);
  t.match(new URL(signed).searchParams.get('md5'), /^[A-Za-z0-9_-]{22}$/, 'no padding, URL-safe alphabet');
});

t.test('the query stays first and the fragment last; the signature covers the decoded path only', async (t) => {
  const base = 'https://cdn.test:8443/edge';
  const signed = signer.sign(`${base}/s1/a%20b/1.ts?token=x#t=3`, 'https://cdn.test:8443'.length, NOW_MS);
  const expires = 1_700_000_000 + 3600;
  t.equal(signed, `${base}/s1/a%20b/1.ts?token=x&md5=${md5(`${expires}/edge/s1/a b/1.ts s3cret`)}&expires=${expires}#t=3`);
});

t.test('appendToQuery: no query, a query, an empty query, a fragment', async (t) => {
  t.equal(appendToQuery('http://h/p', 8, 'a=1'), 'http://h/p?a=1');
  t.equal(appendToQuery('http://h/p?x=1', 8, 'a=1'), 'http://h/p?x=1&a=1');
  t.equal(appendToQuery('http://h/p?', 8, 'a=1'), 'http://h/p?a=1');
  t.equal(appendToQuery('http://h/p#f', 8, 'a=1'), 'http://h/p?a=1#f');
});

t.test('the secret prints as [redacted] however it is printed', async (t) => {
  const secret = new SigningSecret('s3cret');
  t.equal(JSON.stringify({ secret }), '{"secret":"[redacted]"}');
  t.equal(`${secret}`, '[redacted]');
  t.equal(inspect({ secret }), '{ secret: [redacted] }');
  t.equal(secret.reveal(), 's3cret');
});
