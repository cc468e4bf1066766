import type { VideoUrlParts } from './video-url.js';

/** One CDN host answers can point to: the base of its URLs and its share of the traffic. */
export interface CdnHost {
  /** Base of the answers, without a trailing slash, e.g. `http://cdn-a.example.com`. */
  readonly baseUrl: string;
  /** Relative share of the CDN answers, a whole number >= 1. */
  readonly weight: number;
}

export type CdnPolicy = 'weighted' | 'hash';

/** Chooses which CDN host answers a valid call that is not sent to the origin. */
export interface CdnSelector {
  /** The index of the chosen host; `parts` locate the server name and path in `video`. */
  pick(video: string, parts: VideoUrlParts): number;
}

export function createCdnSelector(hosts: readonly CdnHost[], policy: CdnPolicy): CdnSelector {
  if (hosts.length === 0) throw new RangeError('a CDN pool needs at least one host');
  if (hosts.length === 1) return { pick: () => 0 };
  return policy === 'hash' ? new RendezvousHashSelector(hosts) : new SmoothWeightedSelector(hosts);
}

/**
 * nginx's smooth weighted round robin: every window of sum-of-weights picks gives each host
 * exactly its weight, interleaved (weights 5,1,1 give a a b a c a a, not a a a a a b c).
 */
export class SmoothWeightedSelector implements CdnSelector {
  private readonly weights: Float64Array;
  private readonly current: Float64Array;
  private readonly total: number;

  constructor(hosts: readonly CdnHost[]) {
    this.weights = Float64Array.from(hosts, (h) => h.weight);
    this.current = new Float64Array(hosts.length);
    this.total = hosts.reduce((sum, h) => sum + h.weight, 0);
  }

  pick(): number {
    let best = 0;
    for (let i = 0; i < this.weights.length; i++) {
      this.current[i] = (this.current[i] as number) + (this.weights[i] as number);
      if ((this.current[i] as number) > (this.current[best] as number)) best = i;
    }
    this.current[best] = (this.current[best] as number) - this.total;
    return best;
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

  constructor(hosts: readonly CdnHost[]) {
    this.seeds = Uint32Array.from(hosts, (h) => fnv1a(h.baseUrl, 0, h.baseUrl.length, true, 0x811c9dc5));
    this.weights = Float64Array.from(hosts, (h) => h.weight);
    this.equalWeights = hosts.every((h) => h.weight === hosts[0]?.weight);
  }

  pick(video: string, parts: VideoUrlParts): number {
    let keyHash = fnv1a(video, parts.serverNameStart, parts.serverNameEnd, true, 0x811c9dc5);
    for (let i = parts.pathStart; i < video.length; i++) {
      const code = video.charCodeAt(i);
      if (code === 0x3f /* ? */ || code === 0x23 /* # */) break;
      keyHash = Math.imul(keyHash ^ code, 0x01000193) >>> 0;
    }
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < this.seeds.length; i++) {
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
