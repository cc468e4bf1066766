import { parseIpAddress, type IpAddress } from '../routing/steering/ip-address.js';
import type { NetworkTable } from '../routing/steering/network-table.js';
import type { RedirectRouter } from '../routing/redirect-router.js';
import { Viewer } from '../routing/viewer.js';

/**
 * Finding the viewer's address, the same way for both edges (the gRPC layer and the HTTP front
 * door): the connection's peer; or, when that peer is a trusted proxy (`steering.trustedProxies`),
 * the address its forwarding headers name: `forwarded` (RFC 7239 `for=`), else `x-forwarded-for`,
 * else `x-real-ip`. A list is walked from the right, skipping trusted hops, as nginx's
 * `real_ip_recursive on` does: the first untrusted address is the viewer's (all trusted: the
 * leftmost). A header that does not parse (garbage, `unknown`, an obfuscated or zoned address)
 * leaves the peer's own address; never an error. Only the last MAX_HOPS entries of a list are
 * looked at, so a header of thousands of entries costs no more than a short one.
 */

/** Entries of a forwarding list looked at, from the right. */
export const MAX_HOPS = 16;

export type ForwardingHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Per connection: its peer's Viewer, and whether the peer is trusted under a given table. */
interface PeerState {
  readonly viewer: Viewer;
  trustedUnder: NetworkTable<true> | undefined;
  trusted: boolean;
}

const kPeer = Symbol('viewer of a connection');
type Holder = { [kPeer]?: PeerState };

/**
 * Forwarded addresses seen lately, each with its Viewer, so that a viewer's pool is not looked up
 * on every call: two generations of at most FORWARDED_CACHE_SIZE each, the older dropped whole
 * when the newer fills, so that addresses still in use survive (about 200 bytes an entry).
 */
const FORWARDED_CACHE_SIZE = 8192;
let recentViewers = new Map<string, Viewer>();
let olderViewers = new Map<string, Viewer>();

function cachedViewer(address: IpAddress): Viewer {
  let viewer = recentViewers.get(address.text);
  if (viewer !== undefined) return viewer;
  viewer = olderViewers.get(address.text) ?? new Viewer(address);
  if (recentViewers.size >= FORWARDED_CACHE_SIZE) {
    olderViewers = recentViewers;
    recentViewers = new Map();
  }
  recentViewers.set(address.text, viewer);
  return viewer;
}

/**
 * The viewer of a call on the connection `holder` (an HTTP/2 session or a socket, kept across
 * its calls) from `remoteAddress`: the peer's own Viewer, made once per connection, unless the
 * peer is a trusted proxy whose headers name another address.
 */
export function viewerOf(holder: object, remoteAddress: string | undefined, headers: ForwardingHeaders, trustedProxies: NetworkTable<true> | undefined): Viewer {
  let state = (holder as Holder)[kPeer];
  if (state === undefined) {
    state = { viewer: new Viewer(parseIpAddress(remoteAddress ?? '')), trustedUnder: undefined, trusted: false };
    (holder as Holder)[kPeer] = state;
  }
  if (trustedProxies === undefined || trustedProxies.size === 0) return state.viewer;
  if (state.trustedUnder !== trustedProxies) {
    const peer = state.viewer.address;
    state.trusted = peer !== undefined && trustedProxies.lookup(peer) !== undefined;
    state.trustedUnder = trustedProxies;
  }
  if (!state.trusted) return state.viewer;
  const forwarded = forwardedAddress(headers, trustedProxies);
  return forwarded === undefined ? state.viewer : cachedViewer(forwarded);
}

/** The address the forwarding headers name for a trusted peer, or undefined when none parses. */
export function forwardedAddress(headers: ForwardingHeaders, trustedProxies: NetworkTable<true>): IpAddress | undefined {
  const forwarded = joined(headers['forwarded']);
  if (forwarded !== undefined) return walk(forwarded, trustedProxies, forElement);
  const xForwardedFor = joined(headers['x-forwarded-for']);
  if (xForwardedFor !== undefined) return walk(xForwardedFor, trustedProxies, hostOf);
  const xRealIp = joined(headers['x-real-ip']);
  return xRealIp === undefined ? undefined : hostOf(xRealIp);
}

/** A header given several times counts as one list, in order. */
function joined(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.length === 0 ? undefined : value.join(',');
}

/**
 * From the right of a comma-separated list: the first entry whose address is not a trusted
 * proxy, or the leftmost of at most MAX_HOPS when all are; undefined when one of them does not
 * parse before that.
 */
function walk(list: string, trustedProxies: NetworkTable<true>, parse: (entry: string) => IpAddress | undefined): IpAddress | undefined {
  let end = list.length;
  let address: IpAddress | undefined;
  for (let hop = 0; hop < MAX_HOPS && end >= 0; hop++) {
    const start = list.lastIndexOf(',', end - 1);
    address = parse(list.slice(start + 1, end));
    if (address === undefined) return undefined;
    if (trustedProxies.lookup(address) === undefined) return address;
    end = start;
  }
  return address;
}

/** An address, perhaps with a port: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`, quoted or not. */
function hostOf(entry: string): IpAddress | undefined {
  let host = entry.trim();
  if (host.length > 64) return undefined;
  if (host.startsWith('"') && host.endsWith('"') && host.length >= 2) host = host.slice(1, -1);
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0 || (close + 1 < host.length && !(host[close + 1] === ':' && isPort(host.slice(close + 2))))) return undefined;
    return parseIpAddress(host.slice(1, close));
  }
  const colon = host.indexOf(':');
  // One colon: IPv4 with a port; more: a bare IPv6 address.
  if (colon >= 0 && colon === host.lastIndexOf(':')) {
    if (!isPort(host.slice(colon + 1))) return undefined;
    host = host.slice(0, colon);
  }
  return parseIpAddress(host);
}

function isPort(text: string): boolean {
  return /^\d{1,5}$/.test(text) && Number(text) <= 65535;
}

/** The `for=` of one RFC 7239 element (`for=192.0.2.60;proto=http;by=203.0.113.43`). */
function forElement(element: string): IpAddress | undefined {
  if (element.length > 256) return undefined;
  for (const pair of element.split(';')) {
    const equals = pair.indexOf('=');
    if (equals > 0 && pair.slice(0, equals).trim().toLowerCase() === 'for') return hostOf(pair.slice(equals + 1));
  }
  return undefined;
}

/** For the debug line of a call: the viewer's address, and its pool and why (for a CDN answer). */
export function describeViewer(router: Pick<RedirectRouter, 'rule' | 'lastDecision' | 'lastPool'>, viewer: Viewer | undefined, toCdn: boolean): Record<string, unknown> {
  if (viewer === undefined) return {};
  return { viewer: viewer.address?.text ?? 'unknown', ...(toCdn && { pool: router.rule.pools[router.lastPool]?.name, steeredBy: router.lastDecision.method }) };
}
