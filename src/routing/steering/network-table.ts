import { formatIpAddress, parseIpAddress, type IpAddress } from './ip-address.js';

/** A network in CIDR notation, parsed: its first address and prefix length. */
export interface Network {
  readonly address: IpAddress;
  readonly prefixLength: number;
}

/** `10.0.0.0/8`, `2001:db8::/32`; a bare address is its /32 or /128. Undefined when it is none of these. */
export function parseNetwork(text: string): Network | undefined {
  const slash = text.indexOf('/');
  const address = parseIpAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const written = slash < 0 ? text : text.slice(0, slash);
  // An IPv4-mapped IPv6 network (::ffff:10.0.0.0/104) is written in IPv6 bits and kept in IPv4 bits.
  const bits = written.includes(':') ? 128 : 32;
  if (slash < 0) return { address, prefixLength: address.family === 4 ? 32 : 128 };
  const length = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(length) || Number(length) > bits) return undefined;
  // An IPv4-mapped IPv6 network counts in IPv4 bits.
  const prefixLength = Number(length) - (address.family === 4 && bits === 128 ? 96 : 0);
  if (prefixLength < 0) return undefined;
  const words = masked(address.words, prefixLength);
  return { address: { family: address.family, words, text: formatIpAddress({ family: address.family, words }) }, prefixLength };
}

export function formatNetwork(network: Network): string {
  return `${formatIpAddress(network.address)}/${network.prefixLength}`;
}

/** The words of an address with the bits after `prefixLength` cleared. */
function masked(words: readonly number[], prefixLength: number): number[] {
  return words.map((word, i) => {
    const keep = Math.min(32, Math.max(0, prefixLength - 32 * i));
    return keep === 0 ? 0 : keep === 32 ? word : (word & ~((1 << (32 - keep)) - 1)) >>> 0;
  });
}

/** One word of an address masked to `keep` (1-32) leading bits. */
function maskWord(word: number, keep: number): number {
  return keep === 32 ? word : (word & ~((1 << (32 - keep)) - 1)) >>> 0;
}

/** What a lookup found: the value and the network that matched. */
export interface NetworkMatch<T> {
  readonly value: T;
  readonly network: Network;
}

/**
 * Networks, IPv4 and IPv6, each with a value; a lookup finds the most specific network that
 * holds an address. Kept as one map per prefix length in use, keyed by the masked address, and
 * searched from the longest prefix down: a lookup costs one map probe per distinct prefix length
 * (a few dozen at most), whatever the number of networks.
 */
export class NetworkTable<T> {
  /** Per family: prefix lengths in use, longest first, and their maps. */
  private readonly byLength = { 4: new Map<number, Map<string | number, NetworkMatch<T>>>(), 6: new Map<number, Map<string | number, NetworkMatch<T>>>() };
  private lengths = { 4: [] as number[], 6: [] as number[] };
  size = 0;

  /** Adds `network`; the entry already there for the same network, if any, which is kept. */
  add(network: Network, value: T): NetworkMatch<T> | undefined {
    const family = network.address.family;
    let map = this.byLength[family].get(network.prefixLength);
    if (map === undefined) {
      map = new Map();
      this.byLength[family].set(network.prefixLength, map);
      this.lengths[family] = [...this.byLength[family].keys()].sort((a, b) => b - a);
    }
    const key = keyOf(network.address.words, network.prefixLength);
    const existing = map.get(key);
    if (existing) return existing;
    map.set(key, { value, network });
    this.size++;
    return undefined;
  }

  lookup(address: IpAddress): NetworkMatch<T> | undefined {
    const family = address.family;
    const lengths = this.lengths[family];
    const maps = this.byLength[family];
    for (let i = 0; i < lengths.length; i++) {
      const length = lengths[i] as number;
      const match = (maps.get(length) as Map<string | number, NetworkMatch<T>>).get(keyOf(address.words, length));
      if (match !== undefined) return match;
    }
    return undefined;
  }
}

/** The map key of an address's first `prefixLength` bits: a number for IPv4, a string for IPv6. */
function keyOf(words: readonly number[], prefixLength: number): string | number {
  if (words.length === 1) return prefixLength === 0 ? 0 : maskWord(words[0] as number, prefixLength);
  let key = '';
  for (let i = 0; i < 4 && 32 * i < prefixLength; i++) {
    key += `${maskWord(words[i] as number, Math.min(32, prefixLength - 32 * i))},`;
  }
  return key;
}
