/** Primary to workers: which CDN hosts are up, by base URL (a reload may reorder the pool), and the load each reported. */
export interface CdnUpMessage {
  readonly type: 'cdn-up';
  readonly up: readonly string[];
  readonly loads?: Readonly<Record<string, number>>;
}

export function isCdnUpMessage(message: unknown): message is CdnUpMessage {
  return typeof message === 'object' && message !== null && (message as CdnUpMessage).type === 'cdn-up' && Array.isArray((message as CdnUpMessage).up);
}
