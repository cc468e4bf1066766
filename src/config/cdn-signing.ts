import { readFileSync } from 'node:fs';
import type { UrlSigning } from '../routing/signing/create-url-signer.js';
import { SIGNING_SCHEMES, SigningSecret, type SigningScheme } from '../routing/signing/url-signer.js';
import type { ReadInteger } from './cdn-health.js';
import { ConfigError } from './config-error.js';

/**
 * CDN_SIGNING (a scheme; unset = no signing), its secret from CDN_SIGNING_SECRET or, better for
 * containers, CDN_SIGNING_SECRET_FILE, and CDN_SIGNING_TTL_S. No message ever contains the
 * secret: errors name the variable, and the file's path at most.
 */
export function loadCdnSigning(
  scheme: string | undefined,
  secret: string | undefined,
  secretFile: string | undefined,
  readInteger: ReadInteger,
): UrlSigning | undefined {
  if (scheme === undefined) {
    if (secret !== undefined || secretFile !== undefined) {
      throw new ConfigError('CDN_SIGNING', '', 'is unset while a signing secret is given: set CDN_SIGNING=nginx-secure-link, or drop the secret');
    }
    return undefined;
  }
  if (!(SIGNING_SCHEMES as readonly string[]).includes(scheme)) {
    throw new ConfigError('CDN_SIGNING', scheme, `expected one of ${SIGNING_SCHEMES.join(', ')}`);
  }
  if (secret !== undefined && secretFile !== undefined) {
    throw new ConfigError('CDN_SIGNING_SECRET_FILE', secretFile, 'set either CDN_SIGNING_SECRET or CDN_SIGNING_SECRET_FILE, not both');
  }
  let value = secret;
  if (secretFile !== undefined) {
    try {
      // One trailing newline is how files are written; it is not part of the secret.
      value = readFileSync(secretFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError('CDN_SIGNING_SECRET_FILE', secretFile, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (value === '') throw new ConfigError('CDN_SIGNING_SECRET_FILE', secretFile, 'is empty; the signing secret must not be');
  }
  if (value === undefined) {
    throw new ConfigError('CDN_SIGNING', scheme, 'needs a secret: set CDN_SIGNING_SECRET_FILE (or CDN_SIGNING_SECRET)');
  }
  return Object.freeze({
    scheme: scheme as SigningScheme,
    secret: new SigningSecret(value),
    ttlSeconds: readInteger('CDN_SIGNING_TTL_S', 3600, 1, 31_536_000, '(seconds a signed URL stays valid)'),
  });
}
