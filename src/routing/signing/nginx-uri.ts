/**
 * The bytes nginx puts in `$uri` for a request path: percent-encodings decoded (a decoded `/`
 * or `.` counts as one, as in nginx), runs of slashes merged (`merge_slashes on`, nginx's
 * default), and `.` and `..` segments resolved. `rawPath` is the path as sent, without the
 * query or fragment. A `..` above the root is kept at the root (nginx refuses such a request).
 */
export function nginxUriBytes(rawPath: string): Buffer {
  const decoded = percentDecode(rawPath);
  const segments: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= decoded.length; i++) {
    if (i < decoded.length && decoded[i] !== 0x2f) continue;
    const segment = decoded.subarray(start, i);
    start = i + 1;
    if (segment.length === 0) continue;
    if (segment.length === 1 && segment[0] === 0x2e) continue;
    if (segment.length === 2 && segment[0] === 0x2e && segment[1] === 0x2e) {
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  const trailingSlash = decoded.length > 0 && (decoded[decoded.length - 1] === 0x2f || endsWithDotSegment(decoded));
  const parts: Buffer[] = [];
  for (const segment of segments) parts.push(SLASH, segment);
  if (trailingSlash || parts.length === 0) parts.push(SLASH);
  return Buffer.concat(parts);
}

const SLASH = Buffer.from('/');

function endsWithDotSegment(path: Buffer): boolean {
  const end = path.length;
  if (end >= 2 && path[end - 1] === 0x2e && path[end - 2] === 0x2f) return true;
  return end >= 3 && path[end - 1] === 0x2e && path[end - 2] === 0x2e && path[end - 3] === 0x2f;
}

function percentDecode(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25 /* % */ && i + 2 < text.length && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      out[length++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[length++] = code;
    }
  }
  return out.subarray(0, length);
}

function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}
