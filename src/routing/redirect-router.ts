import { createCdnSelector, NO_CDN_HOST, type CdnHost, type CdnPolicy, type CdnSelector } from './cdn-pool.js';
import { OriginRotation } from './origin-rotation.js';
import type { OriginAllowList } from './origin-allow-list.js';
import { createUrlSigner, type UrlSigning } from './signing/create-url-signer.js';
import type { UrlSigner } from './signing/url-signer.js';
import { DEFAULT_DECISION, steer, STEERING_METHODS, type SteeringDecision, type SteeringRule } from './steering/steering.js';
import type { Viewer } from './viewer.js';
import { parseVideoUrl, VideoUrlParts } from './video-url.js';

/** A named pool of CDN hosts, chosen from by its policy; its answers signed or not. */
export interface CdnPoolRule {
  readonly name: string;
  readonly hosts: readonly CdnHost[];
  readonly policy: CdnPolicy;
  /** How its answers are signed; undefined = not signed. */
  readonly signing?: UrlSigning | undefined;
}

/** Each method's index in STEERING_METHODS (a property read per call, not a search). */
const METHOD_INDEX = Object.freeze(Object.fromEntries(STEERING_METHODS.map((method, i) => [method, i])) as Record<SteeringDecision['method'], number>);

/** The name of the pool that serves every viewer steering does not place elsewhere. */
export const DEFAULT_POOL = 'default';

export interface RedirectRule {
  /** The CDN pools; the first is the default pool. A host belongs to one pool. */
  readonly pools: readonly CdnPoolRule[];
  readonly originEvery: number;
  readonly originAllowList: OriginAllowList;
  /** Which pool serves which viewer; undefined = the default pool serves everyone. */
  readonly steering?: SteeringRule | undefined;
}

/** A CDN host of the routing, with the pool it belongs to. */
export interface PooledHost extends CdnHost {
  readonly pool: string;
}

interface CompiledPool {
  readonly cdn: CdnSelector;
  readonly signer: UrlSigner | undefined;
  /** Index of its first host among all hosts of the routing. */
  readonly firstHost: number;
  readonly hosts: readonly CdnHost[];
  /** Per host: where the path of its answers begins (after `scheme://host[:port]`). */
  readonly pathStarts: readonly number[];
}

/** A rule made ready for calls: its pools' selectors and signers, and answer counters. Replaced whole. */
interface CompiledRule {
  readonly rule: RedirectRule;
  readonly pools: readonly CompiledPool[];
  /** Every host of every pool, pool by pool. */
  readonly hosts: readonly PooledHost[];
  /** Answers sent to each CDN host, by index of `hosts`. */
  readonly cdnAnswers: Float64Array;
}

/**
 * The routing rule: answers a valid video URL either with the URL itself (every Nth valid call)
 * or with `<CDN base URL>/<origin server>/<path as sent>`, from the pool that serves the viewer.
 * Invalid input throws `InvalidVideoError` and does not use up a slot of the rotation. Knows
 * nothing of gRPC or HTTP: it decides from the video URL and the viewer's address.
 *
 * `replace` swaps in a new rule whole, between two calls: the rotation counter, the answers
 * counted for hosts that stay, and which hosts are up carry over.
 */
export class RedirectRouter {
  /** Answers sent to the origin; read by metrics when scraped. */
  originAnswers = 0;
  /** CDN answers by how their pool was chosen, by index of STEERING_METHODS; read by metrics. */
  readonly decisions = new Float64Array(STEERING_METHODS.length);
  /** The decision of the last CDN answer, and the pool that answered (the default one when the decided pool had no host up), for the edges' debug line. */
  lastDecision: SteeringDecision = DEFAULT_DECISION;
  lastPool = 0;

  private rotation: OriginRotation;
  private compiled: CompiledRule;
  private readonly parts = new VideoUrlParts();
  /** Base URLs of the CDN hosts that are up (health checks); undefined = every host. */
  private cdnUp: ReadonlySet<string> | undefined;
  /** The last load reading of each CDN host that reports one, by base URL. */
  private cdnLoads: ReadonlyMap<string, number> | undefined;

  constructor(rule: RedirectRule) {
    this.rotation = new OriginRotation(rule.originEvery);
    this.compiled = compile(rule, undefined);
  }

  get rule(): RedirectRule {
    return this.compiled.rule;
  }

  /** Every CDN host of every pool; `cdnAnswers` counts by this index. */
  get hosts(): readonly PooledHost[] {
    return this.compiled.hosts;
  }

  /** Answers sent to each CDN host, by index of `hosts`; read by metrics when scraped. */
  get cdnAnswers(): Float64Array {
    return this.compiled.cdnAnswers;
  }

  /** Serves `rule` from the next call on. */
  replace(rule: RedirectRule): void {
    const next = compile(rule, this.compiled);
    setUp(next, this.cdnUp);
    setLoads(next, this.cdnLoads);
    if (rule.originEvery !== this.rotation.originEvery) this.rotation = this.rotation.withEvery(rule.originEvery);
    this.compiled = next;
  }

  /** Which CDN hosts are up (health checks), by base URL; a host not named is down. Undefined: every host is up. */
  setCdnUp(up: ReadonlySet<string> | undefined): void {
    this.cdnUp = up;
    setUp(this.compiled, up);
  }

  /** The load each CDN host reported at the last reading, by base URL (least-loaded pools choose by it). */
  setCdnLoads(loads: ReadonlyMap<string, number> | undefined): void {
    this.cdnLoads = loads;
    setLoads(this.compiled, loads);
  }

  /** The pool that serves `viewer` now, and why (kept on the viewer while this routing serves). */
  decide(viewer: Viewer | undefined): SteeringDecision {
    const compiled = this.compiled;
    const steering = compiled.rule.steering;
    if (steering === undefined || viewer === undefined) return DEFAULT_DECISION;
    if (viewer.decidedUnder !== compiled) {
      viewer.decision = steer(steering, viewer.address);
      viewer.decidedUnder = compiled;
    }
    return viewer.decision as SteeringDecision;
  }

  redirect(video: string, viewer?: Viewer): string {
    const parts = this.parts;
    const compiled = this.compiled;
    parseVideoUrl(video, compiled.rule.originAllowList, parts);
    if (this.rotation.nextGoesToOrigin()) {
      this.originAnswers++;
      return video;
    }
    const decision = this.decide(viewer);
    let poolIndex = decision.pool;
    let pool = compiled.pools[poolIndex] as CompiledPool;
    let host = pool.cdn.pick(video, parts);
    if (host === NO_CDN_HOST && poolIndex !== 0) {
      // No host of the viewer's pool is up: the default pool serves.
      poolIndex = 0;
      pool = compiled.pools[0] as CompiledPool;
      host = pool.cdn.pick(video, parts);
    }
    if (host === NO_CDN_HOST) {
      // No CDN host that could serve is up: the origin serves rather than a dead CDN.
      this.originAnswers++;
      return video;
    }
    this.lastDecision = decision;
    this.lastPool = poolIndex;
    const method = METHOD_INDEX[decision.method];
    this.decisions[method] = (this.decisions[method] as number) + 1;
    const index = pool.firstHost + host;
    compiled.cdnAnswers[index] = (compiled.cdnAnswers[index] as number) + 1;
    let serverName = video.slice(parts.serverNameStart, parts.serverNameEnd);
    if (parts.serverNameHasUpperCase) serverName = serverName.toLowerCase();
    const answer = `${(pool.hosts[host] as CdnHost).baseUrl}/${serverName}${video.slice(parts.pathStart)}`;
    return pool.signer === undefined ? answer : pool.signer.sign(answer, pool.pathStarts[host] as number, Date.now());
  }
}

/** The pools of a rule of one pool: today's `cdn.hosts` / CDN_HOST(S) form. */
export function singlePool(hosts: readonly CdnHost[], policy: CdnPolicy = 'weighted', signing?: UrlSigning): readonly CdnPoolRule[] {
  return Object.freeze([Object.freeze({ name: DEFAULT_POOL, hosts, policy, signing })]);
}

function setUp(compiled: CompiledRule, up: ReadonlySet<string> | undefined): void {
  for (const pool of compiled.pools) pool.cdn.setUp(pool.hosts.map((h) => up?.has(h.baseUrl) ?? true));
}

function setLoads(compiled: CompiledRule, loads: ReadonlyMap<string, number> | undefined): void {
  for (const pool of compiled.pools) pool.cdn.setLoads?.(pool.hosts.map((h) => loads?.get(h.baseUrl)));
}

/** Makes `rule` ready for calls; the answers counted for hosts of `previous` that stay carry over. */
function compile(rule: RedirectRule, previous: CompiledRule | undefined): CompiledRule {
  const hosts = rule.pools.flatMap((pool) => pool.hosts.map((host) => Object.freeze({ ...host, pool: pool.name })));
  const cdnAnswers = new Float64Array(hosts.length);
  if (previous) {
    hosts.forEach((host, i) => {
      const before = previous.hosts.findIndex((h) => h.baseUrl === host.baseUrl);
      if (before >= 0) cdnAnswers[i] = previous.cdnAnswers[before] as number;
    });
  }
  let firstHost = 0;
  const pools = rule.pools.map((pool) => {
    const compiled = Object.freeze({
      cdn: createCdnSelector(pool.hosts, pool.policy),
      signer: pool.signing ? createUrlSigner(pool.signing) : undefined,
      firstHost,
      hosts: pool.hosts,
      pathStarts: pool.hosts.map((host) => originLength(host.baseUrl)),
    });
    firstHost += pool.hosts.length;
    return compiled;
  });
  return Object.freeze({ rule, pools, hosts, cdnAnswers });
}

/** The length of `scheme://host[:port]` in a base URL, where its path (or prefix) begins. */
function originLength(baseUrl: string): number {
  const slash = baseUrl.indexOf('/', baseUrl.indexOf('//') + 2);
  return slash < 0 ? baseUrl.length : slash;
}
