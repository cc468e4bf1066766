import { NginxSecureLinkSigner } from './nginx-secure-link.js';
import type { SigningScheme, SigningSecret, UrlSigner } from './url-signer.js';

export interface UrlSigning {
  readonly scheme: SigningScheme;
  readonly secret: SigningSecret;
  readonly ttlSeconds: number;
}

/** The signer for CDN_SIGNING's scheme. A new scheme (CloudFront, IETF CDNI URI signing) is one module and one case here. */
export function createUrlSigner(signing: UrlSigning): UrlSigner {
  switch (signing.scheme) {
    case 'nginx-secure-link':
      return new NginxSecureLinkSigner(signing.secret, signing.ttlSeconds);
  }
}
