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

/**
 * The routing rule: answers a valid video URL either with the URL itself (every Nth valid call)
 * or with `<CDN base URL>/<origin server>/<path as sent>`. Invalid input throws
 * `InvalidVideoError` and does not use up a slot of the rotation. Knows nothing of gRPC.
 */
export class RedirectRouter {
  /** Answers sent to the origin, and to each CDN host by index; read by metrics when scraped. */
  originAnswers = 0;
  readonly cdnAnswers: Float64Array;

  private readonly rotation: OriginRotation;
  private readonly cdn: CdnSelector;
  private readonly parts = new VideoUrlParts();
  private readonly signer: UrlSigner | undefined;
  /** Per CDN host: where the path of its answers begins (after `scheme://host[:port]`). */
  private readonly pathStarts: readonly number[];

  constructor(readonly rule: RedirectRule) {
    this.rotation = new OriginRotation(rule.originEvery);
    this.cdn = createCdnSelector(rule.cdnHosts, rule.cdnPolicy);
    this.cdnAnswers = new Float64Array(rule.cdnHosts.length);
    this.signer = rule.signing ? createUrlSigner(rule.signing) : undefined;
    this.pathStarts = rule.cdnHosts.map((host) => originLength(host.baseUrl));
  }

  /** Which CDN hosts are up (health checks), by index of `rule.cdnHosts`. */
  setCdnUp(up: readonly boolean[]): void {
    this.cdn.setUp(up);
  }

  redirect(video: string): string {
    const parts = this.parts;
    parseVideoUrl(video, this.rule.originAllowList, parts);
    if (this.rotation.nextGoesToOrigin()) {
      this.originAnswers++;
      return video;
    }
    const host = this.cdn.pick(video, parts);
    if (host === NO_CDN_HOST) {
      // Every CDN host is down: the origin serves rather than a dead CDN.
      this.originAnswers++;
      return video;
    }
    this.cdnAnswers[host] = (this.cdnAnswers[host] as number) + 1;
    let serverName = video.slice(parts.serverNameStart, parts.serverNameEnd);
    if (parts.serverNameHasUpperCase) serverName = serverName.toLowerCase();
    const answer = `${(this.rule.cdnHosts[host] as CdnHost).baseUrl}/${serverName}${video.slice(parts.pathStart)}`;
    return this.signer === undefined ? answer : this.signer.sign(answer, this.pathStarts[host] as number, Date.now());
  }
}

/** The length of `scheme://host[:port]` in a base URL, where its path (or prefix) begins. */
function originLength(baseUrl: string): number {
  const slash = baseUrl.indexOf('/', baseUrl.indexOf('//') + 2);
  return slash < 0 ? baseUrl.length : slash;
}
