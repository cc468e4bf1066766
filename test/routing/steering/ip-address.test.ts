import { isIP } from 'node:net';
import t from 'tap';
import { formatIpAddress, parseIpAddress } from '../../../src/routing/steering/ip-address.js';
import { formatNetwork, NetworkTable, parseNetwork } from '../../../src/routing/steering/network-table.js';

t.test('parses what net.isIP accepts, and nothing else', async (t) => {
  const samples = [
    '1.2.3.4', '0.0.0.0', '255.255.255.255', '127.0.1.5', '::', '::1', '2001:db8::1', '2001:DB8:0:0:8:800:200C:417A', 'fe80::1:2:3:4',
    '::ffff:1.2.3.4', '64:ff9b::192.0.2.33', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:1.2.3.4',
    '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ', '', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0',
    '12345::', 'g::1', '[::1]', '1.2.3.4:80', '::1.2.3.4.5', '1:2:3:4:5:6:7:1.2.3.4', 'x'.repeat(100),
  ];
  for (const text of samples) t.equal(parseIpAddress(text) !== undefined, isIP(text) !== 0 && !text.includes('%'), JSON.stringify(text));
});

t.test('an IPv4-mapped IPv6 address is its IPv4 address; text forms round-trip', async (t) => {
  t.same(parseIpAddress('::ffff:10.1.2.3'), { family: 4, words: [0x0a010203], text: '10.1.2.3' });
  t.same(parseIpAddress('::FFFF:a01:203'), { family: 4, words: [0x0a010203], text: '10.1.2.3' });
  t.equal(formatIpAddress(parseIpAddress('2001:0db8:0000:0000:0000:0000:0000:0001')!), '2001:db8::1');
  t.equal(formatIpAddress(parseIpAddress('2001:db8:0:1:0:0:0:1')!), '2001:db8:0:1::1', 'the longest run of zeros');
  t.equal(formatIpAddress(parseIpAddress('1:2:3:4:5:6:7:8')!), '1:2:3:4:5:6:7:8');
  t.equal(formatIpAddress(parseIpAddress('::')!), '::');
});

t.test('networks: CIDR parsed and masked, bare addresses as /32 and /128, garbage refused', async (t) => {
  t.equal(formatNetwork(parseNetwork('10.1.2.3/8')!), '10.0.0.0/8', 'host bits are cleared');
  t.equal(formatNetwork(parseNetwork('2001:db8:ffff::/33')!), '2001:db8:8000::/33');
  t.equal(formatNetwork(parseNetwork('192.0.2.7')!), '192.0.2.7/32');
  t.equal(formatNetwork(parseNetwork('::1')!), '::1/128');
  t.equal(formatNetwork(parseNetwork('::ffff:10.0.0.0/104')!), '10.0.0.0/8', 'IPv4-mapped, in IPv4 bits');
  t.equal(formatNetwork(parseNetwork('0.0.0.0/0')!), '0.0.0.0/0');
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/08x', 'ten/8', '10.0.0.0/-1', '::ffff:10.0.0.0/95', '']) t.equal(parseNetwork(bad), undefined, JSON.stringify(bad));
});

t.test('NetworkTable: the most specific network wins, IPv4 and IPv6 apart', async (t) => {
  const table = new NetworkTable<string>();
  const add = (cidr: string, value: string) => table.add(parseNetwork(cidr)!, value);
  add('10.0.0.0/8', 'wide');
  add('10.1.0.0/16', 'narrow');
  add('10.1.2.3/32', 'host');
  add('0.0.0.0/0', 'everything');
  add('2001:db8::/32', 'v6 wide');
  add('2001:db8:1:2::/64', 'v6 narrow');
  const at = (address: string) => table.lookup(parseIpAddress(address)!)?.value;
  t.equal(at('10.9.9.9'), 'wide');
  t.equal(at('10.1.9.9'), 'narrow');
  t.equal(at('10.1.2.3'), 'host');
  t.equal(at('192.0.2.1'), 'everything');
  t.equal(at('2001:db8:1:2::77'), 'v6 narrow');
  t.equal(at('2001:db8:ffff::1'), 'v6 wide');
  t.equal(at('2001:db9::1'), undefined, 'no IPv6 default: IPv4 networks never hold an IPv6 address');
  t.equal(at('::ffff:10.1.2.3'), 'host', 'a mapped address looks up as IPv4');
  t.equal(table.lookup(parseIpAddress('10.1.5.5')!)?.network && formatNetwork(table.lookup(parseIpAddress('10.1.5.5')!)!.network), '10.1.0.0/16', 'and says which network');
  t.equal(add('10.0.0.0/8', 'again')?.value, 'wide', 'adding a network already there returns the first, which stays');
  t.equal(table.size, 6);
});

t.test('NetworkTable: 10,000 networks of mixed lengths, each found exactly', async (t) => {
  const table = new NetworkTable<number>();
  for (let i = 0; i < 10_000; i++) table.add(parseNetwork(`10.${(i >> 8) & 255}.${i & 255}.0/${24 + (i % 5)}`)!, i);
  let wrong = 0;
  for (let i = 0; i < 10_000; i++) if (table.lookup(parseIpAddress(`10.${(i >> 8) & 255}.${i & 255}.1`)!)?.value !== i) wrong++;
  t.equal(wrong, 0);
});
