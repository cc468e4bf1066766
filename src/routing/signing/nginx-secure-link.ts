import { createHash } from 'node:crypto';
import { nginxUriBytes } from './nginx-uri.js';
import { appendToQuery, pathEnd, type SigningSecret, type UrlSigner } from './url-signer.js';

/**
 * Signs URLs the way nginx's secure_link module checks them when the CDN is configured with
 *
 *     secure_link $arg_md5,$arg_expires;
 *     secure_link_md5 "$secure_link_expires$uri <secret>";
 *
 * `expires` is a Unix time, `md5` the base64url MD5 (no padding) of the expiry, nginx's `$uri`
 * (decoded and normalised: see nginx-uri.ts) and the secret, both added to the query.
 */
export class NginxSecureLinkSigner implements UrlSigner {
  private readonly secretSuffix: Buffer;

  constructor(
    secret: SigningSecret,
    private readonly ttlSeconds: number,
  ) {
    this.secretSuffix = Buffer.from(` ${secret.reveal()}`);
  }

  sign(url: string, pathStart: number, nowMs: number): string {
    const expires = Math.floor(nowMs / 1000) + this.ttlSeconds;
    const uri = nginxUriBytes(url.slice(pathStart, pathEnd(url, pathStart)));
    const md5 = createHash('md5').update(String(expires)).update(uri).update(this.secretSuffix).digest('base64url');
    return appendToQuery(url, pathStart, `md5=${md5}&expires=${expires}`);
  }
}
