/** DNS host-name rules shared by the request parser and the configuration. */

const MAX_HOST_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/** Letters, digits and hyphen: the only characters RFC 1123 allows in a label. */
function isLabelChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d // -
  );
}

export function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * Checks `text[start, end)` as a DNS host name and returns why it is not one, or `undefined`.
 * Rejects what a browser or proxy could read differently from us: empty labels, a trailing dot,
 * IP addresses, and any character outside letters, digits, hyphen and dot.
 */
export function hostNameProblem(text: string, start: number, end: number): string | undefined {
  if (start === end) return 'host is empty';
  if (text.charCodeAt(start) === 0x5b /* [ */) return 'IP-literal hosts are not allowed; use the DNS name';
  if (end - start > MAX_HOST_LENGTH) return `host is longer than ${MAX_HOST_LENGTH} characters`;
  let labelStart = start;
  let lastLabelAllDigits = true;
  for (let i = start; i <= end; i++) {
    const code = i === end ? 0x2e : text.charCodeAt(i);
    if (code === 0x2e /* . */) {
      if (i === labelStart) {
        return i === end && i > start ? 'host must not end with a dot' : 'host has an empty label';
      }
      if (i - labelStart > MAX_LABEL_LENGTH) return `host has a label longer than ${MAX_LABEL_LENGTH} characters`;
      if (text.charCodeAt(labelStart) === 0x2d || text.charCodeAt(i - 1) === 0x2d) {
        return 'host has a label that starts or ends with a hyphen';
      }
      if (i === end && lastLabelAllDigits) return 'IP-address hosts are not allowed; use the DNS name';
      labelStart = i + 1;
      lastLabelAllDigits = true;
    } else if (!isLabelChar(code)) {
      return `host contains an invalid character ${JSON.stringify(text[i])}`;
    } else if (!isDigit(code)) {
      lastLabelAllDigits = false;
    }
  }
  return undefined;
}
