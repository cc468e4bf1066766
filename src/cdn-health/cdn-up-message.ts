/** Primary (or pm2 instance) to workers: which CDN hosts are up, by index of the configured pool. */
export interface CdnUpMessage {
  readonly type: 'cdn-up';
  readonly up: readonly boolean[];
}

export function isCdnUpMessage(message: unknown): message is CdnUpMessage {
  return typeof message === 'object' && message !== null && (message as CdnUpMessage).type === 'cdn-up' && Array.isArray((message as CdnUpMessage).up);
}
