import t from 'tap';
import { forwardedAddress, MAX_HOPS, viewerOf } from '../../src/edge/viewer-address.js';
import { NetworkTable, parseNetwork } from '../../src/routing/steering/network-table.js';

const trusted = new NetworkTable<true>();
for (const cidr of ['10.0.0.0/8', '2001:db8:ff::/48']) trusted.add(parseNetwork(cidr)!, true);
const from = (headers: Record<string, string | string[]>) => forwardedAddress(headers, trusted)?.text;

t.test('x-forwarded-for is walked from the right, trusted hops skipped (nginx real_ip_recursive)', async (t) => {
  t.equal(from({ 'x-forwarded-for': '203.0.113.7' }), '203.0.113.7');
  t.equal(from({ 'x-forwarded-for': '198.51.100.1, 203.0.113.7, 10.0.0.2' }), '203.0.113.7', 'the rightmost untrusted, not the leftmost a client can forge');
  t.equal(from({ 'x-forwarded-for': '10.0.0.9, 10.0.0.2' }), '10.0.0.9', 'all trusted: the leftmost');
  t.equal(from({ 'x-forwarded-for': ['198.51.100.1', '203.0.113.7, 10.0.0.2'] }), '203.0.113.7', 'a header given twice is one list');
  t.equal(from({ 'x-forwarded-for': '203.0.113.7:4711' }), '203.0.113.7', 'a port is dropped');
  t.equal(from({ 'x-forwarded-for': '[2001:db8::7]:4711' }), '2001:db8::7', 'brackets and a port');
  t.equal(from({ 'x-forwarded-for': '2001:db8::7, 2001:db8:ff::1' }), '2001:db8::7', 'bare IPv6');
  t.equal(from({ 'x-forwarded-for': '::ffff:203.0.113.7' }), '203.0.113.7', 'IPv4-mapped counts as IPv4');
});

t.test('forwarded (RFC 7239) first, then x-forwarded-for, then x-real-ip', async (t) => {
  t.equal(from({ forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43', 'x-forwarded-for': '198.51.100.1' }), '192.0.2.60');
  t.equal(from({ forwarded: 'for="[2001:db8:cafe::17]:4711"' }), '2001:db8:cafe::17');
  t.equal(from({ forwarded: 'For=198.51.100.1, for=10.0.0.3' }), '198.51.100.1', 'case-insensitive parameter, trusted hop skipped');
  t.equal(from({ 'x-real-ip': '198.51.100.9' }), '198.51.100.9');
  t.equal(from({}), undefined, 'no header: nothing forwarded');
});

t.test('garbage, obfuscation, zone ids and huge lists never throw: the peer counts', async (t) => {
  for (const value of ['', 'garbage', 'unknown', '_hidden', 'fe80::1%eth0', '999.1.1.1', '[::1', '1.2.3.4:99999', ',,,', '"', 'a'.repeat(100_000)]) {
    t.equal(from({ 'x-forwarded-for': value }), undefined, `x-forwarded-for ${JSON.stringify(value.slice(0, 20))}`);
    t.equal(from({ forwarded: `for=${value}` }), undefined, `forwarded for=${JSON.stringify(value.slice(0, 20))}`);
  }
  t.equal(from({ forwarded: 'proto=https' }), undefined, 'an element without for=');
  t.equal(from({ 'x-forwarded-for': '198.51.100.1, garbage, 10.0.0.2' }), undefined, 'an entry that does not parse, before an untrusted one: the peer');
  const hops = Array.from({ length: 5000 }, () => '10.0.0.1').join(',');
  const started = performance.now();
  t.equal(from({ 'x-forwarded-for': `203.0.113.1,${hops}` }), '10.0.0.1', `a list of 5,000 trusted hops: only the last ${MAX_HOPS} are looked at`);
  t.ok(performance.now() - started < 50, 'and it costs no more than a short one');
});

t.test('viewerOf: the peer once per connection; headers only from a trusted peer', async (t) => {
  const connection = {};
  const untrusted = viewerOf(connection, '198.51.100.50', { 'x-forwarded-for': '203.0.113.7' }, trusted);
  t.equal(untrusted.address?.text, '198.51.100.50', 'an untrusted peer cannot pick its own pool');
  t.equal(viewerOf(connection, '198.51.100.50', {}, trusted), untrusted, 'the same Viewer for the next call on the connection');
  const proxy = {};
  t.equal(viewerOf(proxy, '::ffff:10.2.3.4', { 'x-forwarded-for': '203.0.113.7' }, trusted).address?.text, '203.0.113.7', 'a trusted proxy (IPv4-mapped peer)');
  t.equal(viewerOf(proxy, '::ffff:10.2.3.4', { 'x-forwarded-for': 'nonsense' }, trusted).address?.text, '10.2.3.4', 'its garbage header: the peer');
  t.equal(viewerOf(proxy, '::ffff:10.2.3.4', { 'x-forwarded-for': '203.0.113.7' }, undefined).address?.text, '10.2.3.4', 'no trusted proxies: headers ignored');
  const reloaded = new NetworkTable<true>();
  t.equal(viewerOf(proxy, '::ffff:10.2.3.4', { 'x-forwarded-for': '203.0.113.7' }, reloaded).address?.text, '10.2.3.4', 'trust follows a reloaded table');
  t.equal(viewerOf({}, 'not an address', {}, trusted).address, undefined, 'an unparsable peer: no address (the default pool)');
});
