/** The status pages a cache reports its load on. */
export const LOAD_FORMATS = ['nginx-stub-status', 'ats-stats-over-http'] as const;
export type LoadFormat = (typeof LOAD_FORMATS)[number];

/** A reading of a cache's load, or why there is none. */
export type LoadResult = { readonly ok: true; readonly load: number } | { readonly ok: false; readonly reason: string };

/** A status page is a few hundred bytes (nginx) to a few hundred KB (ATS with every stat): more is not a status page. */
export const MAX_LOAD_PAGE_BYTES = 1024 * 1024;
/** The largest load believed: a cache with more connections than this is lying or broken. */
export const MAX_BELIEVED_LOAD = 10_000_000;

/**
 * Reads `url` and the load it reports in `format`, bounded: at most `timeoutMs` for the whole
 * answer, body included (a page that dribbles is cut off), at most MAX_LOAD_PAGE_BYTES (a larger
 * body is cut off), no redirect followed, a status other than 200 refused. Anything else that is
 * not a load of its format (negative, not a whole number, over MAX_BELIEVED_LOAD) is unreadable.
 */
export async function readCacheLoad(url: string, format: LoadFormat, timeoutMs: number): Promise<LoadResult> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, { signal, redirect: 'manual' });
    if (response.status !== 200) {
      await response.body?.cancel();
      return { ok: false, reason: `HTTP ${response.status}` };
    }
    const text = await readBounded(response, MAX_LOAD_PAGE_BYTES);
    if (text === undefined) return { ok: false, reason: `the page is larger than ${MAX_LOAD_PAGE_BYTES} bytes` };
    return parseLoad(text, format);
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return { ok: false, reason: `no whole answer within ${timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, reason: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

/** The body as text, or undefined once it exceeds `maxBytes` (the rest is not read). */
async function readBounded(response: Response, maxBytes: number): Promise<string | undefined> {
  const length = Number(response.headers.get('content-length'));
  if (length > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    if (bytes > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The load a status page reports, or why it is not one. */
export function parseLoad(text: string, format: LoadFormat): LoadResult {
  if (format === 'nginx-stub-status') {
    // "Active connections: 291 \nserver accepts handled requests\n ..."
    const match = /^Active connections:\s*(\S+)\s*$/m.exec(text);
    return match ? believed(match[1] as string, 'Active connections') : { ok: false, reason: 'not an nginx stub_status page (no "Active connections:" line)' };
  }
  // stats_over_http: { "global": { "proxy.process.http.current_client_connections": "12", ... } }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON: not a stats_over_http page' };
  }
  const value = (json as { global?: Record<string, unknown> } | null)?.global?.['proxy.process.http.current_client_connections'];
  if (typeof value !== 'string' && typeof value !== 'number') {
    return { ok: false, reason: 'no global."proxy.process.http.current_client_connections": not a stats_over_http page' };
  }
  return believed(String(value), 'proxy.process.http.current_client_connections');
}

/** A load is a whole number from 0 to MAX_BELIEVED_LOAD, written plainly. */
function believed(text: string, field: string): LoadResult {
  if (!/^\d{1,8}$/.test(text) || Number(text) > MAX_BELIEVED_LOAD) return { ok: false, reason: `${field} is ${JSON.stringify(text.slice(0, 40))}, not a whole number from 0 to ${MAX_BELIEVED_LOAD}` };
  return { ok: true, load: Number(text) };
}
