import t from 'tap';
import { OriginAllowList } from '../../src/routing/origin-allow-list.js';

const allows = (list: OriginAllowList, host: string) => list.allows(host, 0, host.length);

t.test('exact hosts match whole, ignoring case', async (t) => {
  const list = new OriginAllowList(['Origin.Example.com']);
  t.equal(allows(list, 'origin.example.com'), true);
  t.equal(allows(list, 'ORIGIN.EXAMPLE.COM'), true);
  t.equal(allows(list, 'xorigin.example.com'), false);
  t.equal(allows(list, 'origin.example.co'), false);
  t.same(list.patterns, ['origin.example.com']);
  t.equal(list.allowsAnyHost, false);
});

t.test('a wildcard needs at least one label in front of its suffix', async (t) => {
  const list = new OriginAllowList([' *.origin-cluster ']);
  t.equal(allows(list, 's1.origin-cluster'), true);
  t.equal(allows(list, 'a.b.origin-cluster'), true);
  t.equal(allows(list, 'origin-cluster'), false);
  t.equal(allows(list, 'evilorigin-cluster'), false);
  t.equal(allows(list, 's1.origin-cluster.evil'), false);
});

t.test('a lone * allows any host', async (t) => {
  const list = new OriginAllowList(['*']);
  t.equal(list.allowsAnyHost, true);
  t.equal(allows(list, 'evil.example'), true);
});

t.test('refuses patterns that are not host names', async (t) => {
  t.throws(() => new OriginAllowList([]), /at least one pattern/);
  t.throws(() => new OriginAllowList(['*.']), /"\*\.": host is empty/);
  t.throws(() => new OriginAllowList(['bad host']), /invalid character/);
  t.throws(() => new OriginAllowList(['a.*.b']), /invalid character "\*"/);
  t.throws(() => new OriginAllowList(['10.0.0.1']), /IP-address/);
});
