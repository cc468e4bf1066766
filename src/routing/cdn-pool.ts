import type { VideoUrlParts } from './video-url.js';

/** One CDN host answers can point to: the base of its URLs and its share of the traffic. */
export interface CdnHost {
  /** Base of the answers, without a trailing slash, e.g. `http://cdn-a.example.com`. */
  readonly baseUrl: string;
  /** Relative share of the CDN answers, a whole number >= 1. */
  readonly weight: number;
  /** With load readings: above this load the host gets no new viewers until it reads under it again. */
  readonly maxLoad?: number | undefined;
}

export const CDN_POLICIES = ['weighted', 'hash', 'least-loaded'] as const;
export type CdnPolicy = (typeof CDN_POLICIES)[number];

/** Chooses which CDN host answers a valid call that is not sent to the origin. */
export interface CdnSelector {
  /**
   * The index of the chosen host among those that are up, or -1 when none is; `parts` locate
   * the server name and path in `video`.
   */
  pick(video: string, parts: VideoUrlParts): number;
  /** Which hosts are up (from health checks), by index; every host is up until this says otherwise. */
  setUp(up: readonly boolean[]): void;
  /** The load each host reported at the last reading, by index (undefined: not read). */
  setLoads?(loads: readonly (number | undefined)[]): void;
}

/** No host is up: the answer goes to the origin. */
export const NO_CDN_HOST = -1;

export function createCdnSelector(hosts: readonly CdnHost[], policy: CdnPolicy): CdnSelector {
  if (hosts.length === 0) throw new RangeError('a CDN pool needs at least one host');
  if (hosts.length === 1) return new SingleHostSelector();
  if (policy === 'least-loaded') return new LeastLoadedSelector(hosts);
  return policy === 'hash' ? new RendezvousHashSelector(hosts) : new SmoothWeightedSelector(hosts);
}

class SingleHostSelector implements CdnSelector {
  private up = true;

  pick(): number {
    return this.up ? 0 : NO_CDN_HOST;
  }

  setUp(up: readonly boolean[]): void {
    this.up = up[0] !== false;
  }
}

/** Up flags as 1/0 per host, so that the per-call loops read a typed array. */
function upFlags(count: number, up: readonly boolean[]): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (up[i] === false ? 0 : 1));
}

/**
 * nginx's smooth weighted round robin: every window of sum-of-weights picks gives each host
 * exactly its weight, interleaved (weights 5,1,1 give a a b a c a a, not a a a a a b c). Hosts
 * that are down are skipped, and the others keep their proportions.
 */
export class SmoothWeightedSelector implements CdnSelector {
  private readonly weights: Float64Array;
  private readonly current: Float64Array;
  private up: Uint8Array;
  private total: number;

  constructor(hosts: readonly CdnHost[]) {
    this.weights = Float64Array.from(hosts, (h) => h.weight);
    this.current = new Float64Array(hosts.length);
    this.up = upFlags(hosts.length, []);
    this.total = hosts.reduce((sum, h) => sum + h.weight, 0);
  }

  pick(): number {
    let best = NO_CDN_HOST;
    for (let i = 0; i < this.weights.length; i++) {
      if (this.up[i] === 0) continue;
      this.current[i] = (this.current[i] as number) + (this.weights[i] as number);
      if (best === NO_CDN_HOST || (this.current[i] as number) > (this.current[best] as number)) best = i;
    }
    if (best !== NO_CDN_HOST) this.current[best] = (this.current[best] as number) - this.total;
    return best;
  }

  setUp(up: readonly boolean[]): void {
    this.up = upFlags(this.weights.length, up);
    this.total = 0;
    for (let i = 0; i < this.weights.length; i++) if (this.up[i] === 1) this.total += this.weights[i] as number;
    // A fresh window over the hosts that are up, as nginx starts one when its peers change.
    this.current.fill(0);
  }
}

/**
 * The least loaded host relative to its weight (its capacity share), by the power of two random
 * choices: two different hosts are drawn at random in proportion to their weights, and the one
 * with the lower (load + viewers sent to it since the last reading) / weight answers.
 *
 * Why not simply the least loaded: between two readings (seconds) every worker of every process
 * would send every new viewer to the one host that read lowest, and it would be the most loaded at
 * the next reading (the herd). Drawing two makes the least loaded host likely, not certain, so
 * workers that cannot see each other's choices spread over the lightly loaded hosts; counting its
 * own choices since the last reading lets each worker see the load it is adding. With equal loads
 * the first draw decides ties, so shares follow the weights; a host whose load per weight is far
 * above the others' loses every draw it is in.
 */
export class LeastLoadedSelector implements CdnSelector {
  private readonly weights: Float64Array;
  private up: Uint8Array;
  private readonly loads: Float64Array;
  /** Viewers this selector sent to each host since the last reading. */
  private readonly sent: Float64Array;

  constructor(
    hosts: readonly CdnHost[],
    private readonly random: () => number = Math.random,
  ) {
    this.weights = Float64Array.from(hosts, (h) => h.weight);
    this.up = upFlags(hosts.length, []);
    this.loads = new Float64Array(hosts.length);
    this.sent = new Float64Array(hosts.length);
  }

  setUp(up: readonly boolean[]): void {
    this.up = upFlags(this.weights.length, up);
  }

  setLoads(loads: readonly (number | undefined)[]): void {
    for (let i = 0; i < this.loads.length; i++) this.loads[i] = loads[i] ?? 0;
    this.sent.fill(0);
  }

  pick(): number {
    const first = this.draw(NO_CDN_HOST);
    if (first === NO_CDN_HOST) return NO_CDN_HOST;
    const second = this.draw(first);
    const chosen = second !== NO_CDN_HOST && this.score(second) < this.score(first) ? second : first;
    this.sent[chosen] = (this.sent[chosen] as number) + 1;
    return chosen;
  }

  private score(i: number): number {
    return ((this.loads[i] as number) + (this.sent[i] as number)) / (this.weights[i] as number);
  }

  /** A host that is up, other than `except`, drawn in proportion to its weight; NO_CDN_HOST if none. */
  private draw(except: number): number {
    let total = 0;
    for (let i = 0; i < this.weights.length; i++) if (this.up[i] === 1 && i !== except) total += this.weights[i] as number;
    if (total === 0) return NO_CDN_HOST;
    let point = this.random() * total;
    let last = NO_CDN_HOST;
    for (let i = 0; i < this.weights.length; i++) {
      if (this.up[i] === 0 || i === except) continue;
      last = i;
      point -= this.weights[i] as number;
      if (point < 0) return i;
    }
    return last;
  }
}

/**
 * Weighted rendezvous (highest random weight) hashing of the origin server name and path: the
 * same video always goes to the same CDN host, so its cache stays warm, and removing one of N
 * hosts moves only the videos that host had, about 1/N. The query string is left out of the key
 * (signed tokens differ per viewer) and so is the fragment; the server name is matched without
 * case, like the host it came from.
 */
export class RendezvousHashSelector implements CdnSelector {
  private readonly seeds: Uint32Array;
  private readonly weights: Float64Array;
  /** With equal weights the largest draw wins, and no logarithm is needed. */
  private readonly equalWeights: boolean;
  private up: Uint8Array;

  constructor(hosts: readonly CdnHost[]) {
    this.seeds = Uint32Array.from(hosts, (h) => fnv1a(h.baseUrl, 0, h.baseUrl.length, true, 0x811c9dc5));
    this.weights = Float64Array.from(hosts, (h) => h.weight);
    this.equalWeights = hosts.every((h) => h.weight === hosts[0]?.weight);
    this.up = upFlags(hosts.length, []);
  }

  /** Rendezvous over the hosts that are up: a down host's videos move, and only those. */
  setUp(up: readonly boolean[]): void {
    this.up = upFlags(this.seeds.length, up);
  }

  pick(video: string, parts: VideoUrlParts): number {
    let keyHash = fnv1a(video, parts.serverNameStart, parts.serverNameEnd, true, 0x811c9dc5);
    for (let i = parts.pathStart; i < video.length; i++) {
      const code = video.charCodeAt(i);
      if (code === 0x3f /* ? */ || code === 0x23 /* # */) break;
      keyHash = Math.imul(keyHash ^ code, 0x01000193) >>> 0;
    }
    let best = NO_CDN_HOST;
    let bestScore = -Infinity;
    for (let i = 0; i < this.seeds.length; i++) {
      if (this.up[i] === 0) continue;
      // A uniform draw in (0, 1) per (video, host); score = weight / -ln(draw).
      const draw = (mix32(keyHash ^ (this.seeds[i] as number)) + 0.5) / 4294967296;
      const score = this.equalWeights ? draw : (this.weights[i] as number) / -Math.log(draw);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best;
  }
}

/** FNV-1a over `text[start, end)`, optionally folding ASCII upper case to lower case. */
function fnv1a(text: string, start: number, end: number, foldCase: boolean, seed: number): number {
  let hash = seed >>> 0;
  for (let i = start; i < end; i++) {
    let code = text.charCodeAt(i);
    if (foldCase && code >= 0x41 && code <= 0x5a) code += 0x20;
    hash = Math.imul(hash ^ code, 0x01000193) >>> 0;
  }
  return hash;
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
