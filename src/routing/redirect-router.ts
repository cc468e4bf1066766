import { createCdnSelector, NO_CDN_HOST, type CdnHost, type CdnPolicy, type CdnSelector } from './cdn-pool.js';
import { OriginRotation } from './origin-rotation.js';
import type { OriginAllowList } from './origin-allow-list.js';
import { createUrlSigner, type UrlSigning } from './signing/create-url-signer.js';
import type { UrlSigner } from './signing/url-signer.js';
import { parseVideoUrl, VideoUrlParts } from './video-url.js';

export interface RedirectRule {
  /** The CDN hosts answers point to (one, or a pool) and how a pool is chosen from. */
  readonly cdnHosts: readonly CdnHost[];
  readonly cdnPolicy: CdnPolicy;
  readonly originEvery: number;
  readonly originAllowList: OriginAllowList;
  /** How CDN answers are signed; undefined = not signed. */
  readonly signing?: UrlSigning | undefined;
}

/** A rule made ready for calls: its selector, signer and answer counters. Replaced whole. */
interface CompiledRule {
  readonly rule: RedirectRule;
  readonly cdn: CdnSelector;
  readonly signer: UrlSigner | undefined;
  /** Per CDN host: where the path of its answers begins (after `scheme://host[:port]`). */
  readonly pathStarts: readonly number[];
  /** Answers sent to each CDN host, by index of `rule.cdnHosts`. */
  readonly cdnAnswers: Float64Array;
}

/**
 * The routing rule: answers a valid video URL either with the URL itself (every Nth valid call)
 * or with `<CDN base URL>/<origin server>/<path as sent>`. Invalid input throws
 * `InvalidVideoError` and does not use up a slot of the rotation. Knows nothing of gRPC.
 *
 * `replace` swaps in a new rule whole, between two calls: the rotation counter, the answers
 * counted for hosts that stay, and which hosts are up carry over.
 */
export class RedirectRouter {
  /** Answers sent to the origin; read by metrics when scraped. */
  originAnswers = 0;

  private rotation: OriginRotation;
  private compiled: CompiledRule;
  private readonly parts = new VideoUrlParts();
  /** Base URLs of the CDN hosts that are up (health checks); undefined = every host. */
  private cdnUp: ReadonlySet<string> | undefined;

  constructor(rule: RedirectRule) {
    this.rotation = new OriginRotation(rule.originEvery);
    this.compiled = compile(rule, undefined);
  }

  get rule(): RedirectRule {
    return this.compiled.rule;
  }

  /** Answers sent to each CDN host, by index of `rule.cdnHosts`; read by metrics when scraped. */
  get cdnAnswers(): Float64Array {
    return this.compiled.cdnAnswers;
  }

  /** Serves `rule` from the next call on. */
  replace(rule: RedirectRule): void {
    const next = compile(rule, this.compiled);
    next.cdn.setUp(rule.cdnHosts.map((h) => this.cdnUp?.has(h.baseUrl) ?? true));
    if (rule.originEvery !== this.rotation.originEvery) this.rotation = this.rotation.withEvery(rule.originEvery);
    this.compiled = next;
  }

  /** Which CDN hosts are up (health checks), by base URL; a host not named is down. Undefined: every host is up. */
  setCdnUp(up: ReadonlySet<string> | undefined): void {
    this.cdnUp = up;
    this.compiled.cdn.setUp(this.compiled.rule.cdnHosts.map((h) => up?.has(h.baseUrl) ?? true));
  }

  redirect(video: string): string {
    const parts = this.parts;
    const { rule, cdn, signer, pathStarts, cdnAnswers } = this.compiled;
    parseVideoUrl(video, rule.originAllowList, parts);
    if (this.rotation.nextGoesToOrigin()) {
      this.originAnswers++;
      return video;
    }
    const host = cdn.pick(video, parts);
    if (host === NO_CDN_HOST) {
      // Every CDN host is down: the origin serves rather than a dead CDN.
      this.originAnswers++;
      return video;
    }
    cdnAnswers[host] = (cdnAnswers[host] as number) + 1;
    let serverName = video.slice(parts.serverNameStart, parts.serverNameEnd);
    if (parts.serverNameHasUpperCase) serverName = serverName.toLowerCase();
    const answer = `${(rule.cdnHosts[host] as CdnHost).baseUrl}/${serverName}${video.slice(parts.pathStart)}`;
    return signer === undefined ? answer : signer.sign(answer, pathStarts[host] as number, Date.now());
  }
}

/** Makes `rule` ready for calls; the answers counted for hosts of `previous` that stay carry over. */
function compile(rule: RedirectRule, previous: CompiledRule | undefined): CompiledRule {
  const cdnAnswers = new Float64Array(rule.cdnHosts.length);
  if (previous) {
    rule.cdnHosts.forEach((host, i) => {
      const before = previous.rule.cdnHosts.findIndex((h) => h.baseUrl === host.baseUrl);
      if (before >= 0) cdnAnswers[i] = previous.cdnAnswers[before] as number;
    });
  }
  return Object.freeze({
    rule,
    cdn: createCdnSelector(rule.cdnHosts, rule.cdnPolicy),
    signer: rule.signing ? createUrlSigner(rule.signing) : undefined,
    pathStarts: rule.cdnHosts.map((host) => originLength(host.baseUrl)),
    cdnAnswers,
  });
}

/** The length of `scheme://host[:port]` in a base URL, where its path (or prefix) begins. */
function originLength(baseUrl: string): number {
  const slash = baseUrl.indexOf('/', baseUrl.indexOf('//') + 2);
  return slash < 0 ? baseUrl.length : slash;
}
