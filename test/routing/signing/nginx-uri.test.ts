import t from 'tap';
import { nginxUriBytes } from '../../../src/routing/signing/nginx-uri.js';

const uri = (path: string) => nginxUriBytes(path).toString('latin1');

t.test("nginx's $uri: decoded, slashes merged, dot segments resolved", async (t) => {
  t.equal(uri('/video/1.ts'), '/video/1.ts');
  t.equal(uri('/a%20b/c%2Fd'), '/a b/c/d', 'every percent-encoding is decoded, %2F too');
  t.equal(uri('/a//b///c'), '/a/b/c');
  t.equal(uri('/a/./b/../c'), '/a/c');
  t.equal(uri('/a/%2e%2E/b'), '/b', 'encoded dots are dots');
  t.equal(uri('/a/b/'), '/a/b/', 'a trailing slash stays');
  t.equal(uri('/a/b/.'), '/a/b/', 'so does a trailing dot segment, as a slash');
  t.equal(uri('/a/b/..'), '/a/');
  t.equal(uri('/../a'), '/a', 'nothing above the root');
  t.equal(uri('/'), '/');
  t.equal(uri('/100%25'), '/100%');
  t.equal(uri('/bad%zz'), '/bad%zz', 'a % that is not an encoding is kept');
  t.same([...nginxUriBytes('/caf%C3%A9')], [...Buffer.from('/café')], 'decoded to bytes, UTF-8 stays UTF-8');
});
