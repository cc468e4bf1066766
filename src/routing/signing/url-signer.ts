/** Adds to a CDN answer what lets only its holder fetch it, for a limited time. */
export interface UrlSigner {
  /**
   * `url` signed: `pathStart` is where its path begins (after `scheme://host[:port]`); `nowMs`
   * the current time. The path, query and fragment stay as they were, the signature is added.
   */
  sign(url: string, pathStart: number, nowMs: number): string;
}

/** The schemes CDN_SIGNING accepts; each is one module in this folder. */
export const SIGNING_SCHEMES = ['nginx-secure-link'] as const;
export type SigningScheme = (typeof SIGNING_SCHEMES)[number];

/**
 * The signing secret: kept out of logs, metrics and error messages, whatever prints the
 * configuration (JSON, util.inspect, string concatenation all see `[redacted]`).
 */
export class SigningSecret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[redacted]';
  }
}

/** Appends `name=value` pairs to the query of `url`, before its fragment. */
export function appendToQuery(url: string, pathStart: number, params: string): string {
  const hash = url.indexOf('#', pathStart);
  const beforeHash = hash < 0 ? url : url.slice(0, hash);
  const separator = beforeHash.indexOf('?', pathStart) < 0 ? '?' : beforeHash.endsWith('?') || beforeHash.endsWith('&') ? '' : '&';
  return `${beforeHash}${separator}${params}${hash < 0 ? '' : url.slice(hash)}`;
}

/** Where the path of `url` ends: at its query or fragment, or at the end. */
export function pathEnd(url: string, pathStart: number): number {
  for (let i = pathStart; i < url.length; i++) {
    const code = url.charCodeAt(i);
    if (code === 0x3f /* ? */ || code === 0x23 /* # */) return i;
  }
  return url.length;
}
