import type { FrontDoorConfig } from '../config/config.js';

/**
 * CORS for browser players (hls.js, dash.js, Shaka fetch their manifest cross-origin and must
 * be allowed to read the answer, and to follow its redirect): `Access-Control-Allow-Origin` on
 * every answer of `/redirect`, `*` or the request's origin when it is on the list.
 */
export function corsHeaders(origin: string | string[] | undefined, allowed: FrontDoorConfig['corsOrigins']): Record<string, string> {
  if (allowed === '*') return { 'access-control-allow-origin': '*' };
  const asked = typeof origin === 'string' ? origin.toLowerCase() : undefined;
  // The answer depends on the Origin: caches must keep one per origin.
  if (asked !== undefined && allowed.includes(asked)) return { 'access-control-allow-origin': origin as string, vary: 'Origin' };
  return { vary: 'Origin' };
}

/** The answer to a CORS preflight (OPTIONS with Access-Control-Request-Method): what may follow. */
export const PREFLIGHT_HEADERS = Object.freeze({
  'access-control-allow-methods': 'GET, HEAD',
  'access-control-max-age': '600',
});
