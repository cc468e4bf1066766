import { hostNameProblem, isDigit } from './host-name.js';
import { InvalidVideoError } from './invalid-video-error.js';
import type { OriginAllowList } from './origin-allow-list.js';

/** Longest `video` value accepted; a URL longer than this is not a real video file. */
export const MAX_VIDEO_URL_LENGTH = 8 * 1024;

/**
 * Where the pieces of a valid video URL are, as offsets into the string the caller sent.
 * The parser fills one of these in place so that the per-call path allocates nothing.
 */
export class VideoUrlParts {
  /** The origin server's name: the first DNS label of the host. */
  serverNameStart = 0;
  serverNameEnd = 0;
  /** Whether the server name has upper-case letters (CDN paths use the lower-case name). */
  serverNameHasUpperCase = false;
  /** Where the path begins; path, query and fragment are carried over from here unchanged. */
  pathStart = 0;
}

/**
 * Checks `video` and records where its pieces are in `parts`, or throws {@link InvalidVideoError}
 * saying what is wrong. Valid: an absolute http(s) URL of printable ASCII, at most 8 KiB, with no
 * user-info, a DNS host the allow-list accepts, an optional port, and a non-empty path.
 *
 * Hand-written instead of `new URL()` on purpose: WHATWG parsing normalises what the caller sent
 * (`%2F`, dot segments, case, IDNA), and the answer must carry the path over byte for byte.
 */
export function parseVideoUrl(video: string, allowList: OriginAllowList, parts: VideoUrlParts): void {
  const length = video.length;
  if (length === 0) throw new InvalidVideoError('is empty; expected a URL like http://s1.origin-cluster/video/1.m3u8');
  if (length > MAX_VIDEO_URL_LENGTH) {
    throw new InvalidVideoError(`is ${length} characters long; the limit is ${MAX_VIDEO_URL_LENGTH}`);
  }
  for (let i = 0; i < length; i++) {
    const code = video.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) throw characterError(video, i, code);
  }

  const schemeEnd = video.indexOf(':');
  if (schemeEnd <= 0 || !isScheme(video, schemeEnd)) {
    throw new InvalidVideoError('must be an absolute http or https URL, e.g. http://s1.origin-cluster/video/1.m3u8');
  }
  if (!isHttpScheme(video, schemeEnd)) throw new InvalidVideoError('scheme must be http or https');
  if (video.charCodeAt(schemeEnd + 1) !== 0x2f || video.charCodeAt(schemeEnd + 2) !== 0x2f) {
    throw new InvalidVideoError('must have a host after the scheme (http://host/path)');
  }

  const authorityStart = schemeEnd + 3;
  let authorityEnd = authorityStart;
  let portColon = -1;
  while (authorityEnd < length) {
    const code = video.charCodeAt(authorityEnd);
    if (code === 0x2f /* / */ || code === 0x3f /* ? */ || code === 0x23 /* # */) break;
    if (code === 0x40 /* @ */) throw new InvalidVideoError('user-info (user@host) is not allowed');
    if (code === 0x5c /* \ */) throw new InvalidVideoError('host contains a backslash');
    if (code === 0x3a /* : */) portColon = authorityEnd;
    authorityEnd++;
  }

  const hostStart = authorityStart;
  let hostEnd = authorityEnd;
  if (portColon !== -1 && video.charCodeAt(authorityStart) !== 0x5b /* [ */) {
    checkPort(video, portColon + 1, authorityEnd);
    hostEnd = portColon;
  }
  const hostProblem = hostNameProblem(video, hostStart, hostEnd);
  if (hostProblem !== undefined) throw new InvalidVideoError(hostProblem);
  if (!allowList.allows(video, hostStart, hostEnd)) {
    throw new InvalidVideoError(`host ${JSON.stringify(video.slice(hostStart, hostEnd))} is not an allowed origin`);
  }

  if (authorityEnd === length || video.charCodeAt(authorityEnd) !== 0x2f) {
    throw new InvalidVideoError('path is missing; expected the path of a file on the origin server');
  }
  const afterSlash = video.charCodeAt(authorityEnd + 1);
  if (authorityEnd + 1 === length || afterSlash === 0x3f || afterSlash === 0x23) {
    throw new InvalidVideoError('path is empty; expected the path of a file on the origin server');
  }

  let serverNameEnd = hostStart;
  let hasUpperCase = false;
  for (; serverNameEnd < hostEnd; serverNameEnd++) {
    const code = video.charCodeAt(serverNameEnd);
    if (code === 0x2e) break;
    if (code >= 0x41 && code <= 0x5a) hasUpperCase = true;
  }
  parts.serverNameStart = hostStart;
  parts.serverNameEnd = serverNameEnd;
  parts.serverNameHasUpperCase = hasUpperCase;
  parts.pathStart = authorityEnd;
}

function characterError(video: string, index: number, code: number): InvalidVideoError {
  if (video.trim() === '') return new InvalidVideoError('is empty (only white space)');
  if (code === 0x20) return new InvalidVideoError(`contains a space at index ${index}; percent-encode it as %20`);
  if (code < 0x20 || code === 0x7f) {
    const hex = code.toString(16).toUpperCase().padStart(2, '0');
    return new InvalidVideoError(`contains the control character 0x${hex} at index ${index}`);
  }
  return new InvalidVideoError(`contains a non-ASCII character at index ${index}; percent-encode it`);
}

/** RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) before the colon. */
function isScheme(video: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const code = video.charCodeAt(i) | 0x20;
    const isLetter = code >= 0x61 && code <= 0x7a;
    if (i === 0 ? !isLetter : !(isLetter || isDigit(code) || code === 0x2b || code === 0x2d || code === 0x2e)) {
      return false;
    }
  }
  return true;
}

function isHttpScheme(video: string, end: number): boolean {
  if (end !== 4 && end !== 5) return false;
  if ((video.charCodeAt(0) | 0x20) !== 0x68) return false; // h
  if ((video.charCodeAt(1) | 0x20) !== 0x74) return false; // t
  if ((video.charCodeAt(2) | 0x20) !== 0x74) return false; // t
  if ((video.charCodeAt(3) | 0x20) !== 0x70) return false; // p
  return end === 4 || (video.charCodeAt(4) | 0x20) === 0x73; // s
}

function checkPort(video: string, start: number, end: number): void {
  let port = 0;
  for (let i = start; i < end; i++) {
    const code = video.charCodeAt(i);
    if (!isDigit(code) || port > 65535) {
      throw new InvalidVideoError('port must be a number from 1 to 65535');
    }
    port = port * 10 + (code - 0x30);
  }
  if (start === end || port < 1 || port > 65535) throw new InvalidVideoError('port must be a number from 1 to 65535');
}
