import { hostNameProblem } from './host-name.js';

/**
 * The origin hosts whose URLs the service will answer for. Every Nth answer echoes the caller's
 * URL, so without this list the service would be an open redirect.
 *
 * Patterns: an exact host (`origin.example.com`), a wildcard `*.suffix` that matches any host
 * with one or more labels in front of `.suffix`, or `*` for any host. Matching ignores case.
 */
export class OriginAllowList {
  readonly patterns: readonly string[];
  readonly allowsAnyHost: boolean;
  private readonly exactHosts: readonly string[];
  /** Wildcard suffixes with their leading dot, e.g. `.origin-cluster`. */
  private readonly suffixes: readonly string[];

  constructor(patterns: readonly string[]) {
    if (patterns.length === 0) throw new TypeError('the origin allow-list needs at least one pattern');
    const exactHosts: string[] = [];
    const suffixes: string[] = [];
    let allowsAnyHost = false;
    for (const raw of patterns) {
      const pattern = raw.trim().toLowerCase();
      if (pattern === '*') {
        allowsAnyHost = true;
        continue;
      }
      const host = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
      const problem = hostNameProblem(host, 0, host.length);
      if (problem !== undefined) throw new TypeError(`pattern ${JSON.stringify(raw)}: ${problem}`);
      if (host === pattern) exactHosts.push(host);
      else suffixes.push(`.${host}`);
    }
    this.patterns = Object.freeze(patterns.map((p) => p.trim().toLowerCase()));
    this.allowsAnyHost = allowsAnyHost;
    this.exactHosts = Object.freeze(exactHosts);
    this.suffixes = Object.freeze(suffixes);
  }

  /** Whether `text[start, end)`, an already valid host name, is allowed. Allocates nothing. */
  allows(text: string, start: number, end: number): boolean {
    if (this.allowsAnyHost) return true;
    const length = end - start;
    for (const host of this.exactHosts) {
      if (host.length === length && equalsIgnoreCase(text, start, host)) return true;
    }
    for (const suffix of this.suffixes) {
      if (length > suffix.length && equalsIgnoreCase(text, end - suffix.length, suffix)) return true;
    }
    return false;
  }
}

/** Compares `text` from `offset` with `lowerCase`, which is already lower case ASCII. */
function equalsIgnoreCase(text: string, offset: number, lowerCase: string): boolean {
  for (let i = 0; i < lowerCase.length; i++) {
    let code = text.charCodeAt(offset + i);
    if (code >= 0x41 && code <= 0x5a) code += 0x20;
    if (code !== lowerCase.charCodeAt(i)) return false;
  }
  return true;
}
