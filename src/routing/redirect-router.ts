import { createCdnSelector, type CdnHost, type CdnPolicy, type CdnSelector } from './cdn-pool.js';
import { OriginRotation } from './origin-rotation.js';
import type { OriginAllowList } from './origin-allow-list.js';
import { parseVideoUrl, VideoUrlParts } from './video-url.js';

export interface RedirectRule {
  /** The CDN hosts answers point to (one, or a pool) and how a pool is chosen from. */
  readonly cdnHosts: readonly CdnHost[];
  readonly cdnPolicy: CdnPolicy;
  readonly originEvery: number;
  readonly originAllowList: OriginAllowList;
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

  constructor(readonly rule: RedirectRule) {
    this.rotation = new OriginRotation(rule.originEvery);
    this.cdn = createCdnSelector(rule.cdnHosts, rule.cdnPolicy);
    this.cdnAnswers = new Float64Array(rule.cdnHosts.length);
  }

  redirect(video: string): string {
    const parts = this.parts;
    parseVideoUrl(video, this.rule.originAllowList, parts);
    if (this.rotation.nextGoesToOrigin()) {
      this.originAnswers++;
      return video;
    }
    const host = this.cdn.pick(video, parts);
    this.cdnAnswers[host] = (this.cdnAnswers[host] as number) + 1;
    let serverName = video.slice(parts.serverNameStart, parts.serverNameEnd);
    if (parts.serverNameHasUpperCase) serverName = serverName.toLowerCase();
    return `${(this.rule.cdnHosts[host] as CdnHost).baseUrl}/${serverName}${video.slice(parts.pathStart)}`;
  }
}
