import { OriginRotation } from './origin-rotation.js';
import type { OriginAllowList } from './origin-allow-list.js';
import { parseVideoUrl, VideoUrlParts } from './video-url.js';

export interface RedirectRule {
  /** Base of every CDN answer without a trailing slash, e.g. `http://cdn.example.com`. */
  readonly cdnBaseUrl: string;
  readonly originEvery: number;
  readonly originAllowList: OriginAllowList;
}

/**
 * The routing rule: answers a valid video URL either with the URL itself (every Nth valid call)
 * or with `<cdnBaseUrl>/<origin server>/<path as sent>`. Invalid input throws
 * `InvalidVideoError` and does not use up a slot of the rotation. Knows nothing of gRPC.
 */
export class RedirectRouter {
  /** Answers sent to the origin and to the CDN, read by metrics at scrape time. */
  originAnswers = 0;
  cdnAnswers = 0;

  private readonly rotation: OriginRotation;
  private readonly parts = new VideoUrlParts();

  constructor(private readonly rule: RedirectRule) {
    this.rotation = new OriginRotation(rule.originEvery);
  }

  redirect(video: string): string {
    const parts = this.parts;
    parseVideoUrl(video, this.rule.originAllowList, parts);
    if (this.rotation.nextGoesToOrigin()) {
      this.originAnswers++;
      return video;
    }
    this.cdnAnswers++;
    let serverName = video.slice(parts.serverNameStart, parts.serverNameEnd);
    if (parts.serverNameHasUpperCase) serverName = serverName.toLowerCase();
    return `${this.rule.cdnBaseUrl}/${serverName}${video.slice(parts.pathStart)}`;
  }
}
