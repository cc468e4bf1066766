/**
 * IP addresses as numbers, for network lookups: IPv4 as one 32-bit word, IPv6 as four. Parsing
 * is strict (what `net.isIP` accepts, without zone ids) and never throws: a string that is not
 * an address gives undefined. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is its IPv4 address,
 * as a dual-stack socket reports an IPv4 peer.
 */
export interface IpAddress {
  readonly family: 4 | 6;
  /** Big-endian 32-bit words: one for IPv4, four for IPv6. */
  readonly words: readonly number[];
  /** The address as text, as it was parsed (or formatted). */
  readonly text: string;
}

/** The longest text worth parsing: an IPv6 address with an embedded IPv4 one is at most 45 characters. */
const MAX_ADDRESS_LENGTH = 45;

export function parseIpAddress(text: string): IpAddress | undefined {
  if (text.length === 0 || text.length > MAX_ADDRESS_LENGTH) return undefined;
  if (text.includes(':')) {
    const words = parseIpv6(text);
    if (words === undefined) return undefined;
    // ::ffff:0:0/96, IPv4-mapped.
    if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
      const v4 = { family: 4 as const, words: [words[3] as number], text: '' };
      return { ...v4, text: formatIpAddress(v4) };
    }
    return { family: 6, words, text };
  }
  const word = parseIpv4(text);
  return word === undefined ? undefined : { family: 4, words: [word], text };
}

/** Dotted quad, each part 0-255 in decimal without leading zeros (as net.isIPv4 requires). */
function parseIpv4(text: string): number | undefined {
  let word = 0;
  let parts = 0;
  let value = -1;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (code === 0x2e /* . */) {
      if (digits === 0 || ++parts > 4) return undefined;
      word = (word * 256 + value) >>> 0;
      value = -1;
      digits = 0;
    } else if (code >= 0x30 && code <= 0x39) {
      if (digits > 0 && value === 0) return undefined;
      value = (value < 0 ? 0 : value * 10) + (code - 0x30);
      if (value > 255 || ++digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? word : undefined;
}

/** RFC 4291 text forms: eight groups, `::` once, and an IPv4 tail in place of the last two. */
function parseIpv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as string;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        groups.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        groups.push(Number.parseInt(piece, 16));
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0] as string);
  const tail = halves.length === 2 ? groupsOf(halves[1] as string) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return [0, 1, 2, 3].map((i) => (((groups[2 * i] as number) << 16) | (groups[2 * i + 1] as number)) >>> 0);
}

/** The address as text: dotted quad, or IPv6 in its shortest form (RFC 5952). */
export function formatIpAddress(address: Pick<IpAddress, 'family' | 'words'>): string {
  if (address.family === 4) {
    const w = address.words[0] as number;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const groups = address.words.flatMap((w) => [w >>> 16, w & 0xffff]);
  // The longest run of two or more zero groups becomes ::.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
