/**
 * Turns `CDN_HOST` into the base of every CDN answer, without a trailing slash:
 * `host[:port]` becomes `http://host[:port]`; a full `http(s)://host[:port][/prefix]` is kept.
 * Returns the base URL, or the problem with the value.
 */
export function parseCdnBaseUrl(value: string): { readonly baseUrl: string } | { readonly problem: string } {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  let url: URL;
  try {
    url = new URL(hasScheme ? value : `http://${value}`);
  } catch {
    return { problem: 'expected host[:port] or http(s)://host[:port][/prefix]' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { problem: 'the scheme must be http or https' };
  }
  if (url.username !== '' || url.password !== '') return { problem: 'user-info is not allowed' };
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    return { problem: 'a query or fragment is not allowed' };
  }
  if (url.hostname === '') return { problem: 'the host is empty' };
  if (!hasScheme && url.pathname !== '/') {
    return { problem: 'a path prefix needs the full form http(s)://host[:port]/prefix' };
  }
  if (/\s/.test(value)) return { problem: 'white space is not allowed' };
  const prefix = url.pathname.replace(/\/+$/, '');
  return { baseUrl: `${url.protocol}//${url.host}${prefix}` };
}
