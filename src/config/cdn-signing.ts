import { readFileSync } from 'node:fs';
import type { UrlSigning } from '../routing/signing/create-url-signer.js';
import { SIGNING_SCHEMES, SigningSecret, type SigningScheme } from '../routing/signing/url-signer.js';
import type { ReadInteger } from './cdn-health.js';
import { ConfigError } from './config-error.js';
import { ROUTING_SCHEMA } from './routing-schema.js';

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
    const read = readSecretFile(secretFile);
    if ('problem' in read) throw new ConfigError('CDN_SIGNING_SECRET_FILE', secretFile, read.problem);
    value = read.secret;
  }
  if (value === undefined) {
    throw new ConfigError('CDN_SIGNING', scheme, 'needs a secret: set CDN_SIGNING_SECRET_FILE (or CDN_SIGNING_SECRET)');
  }
  return Object.freeze({
    scheme: scheme as SigningScheme,
    secret: new SigningSecret(value),
    ttlSeconds: readInteger(ROUTING_SCHEMA.signingTtlSeconds),
  });
}

/** A signing secret from its file, or what is wrong with the file (never its content). */
export function readSecretFile(path: string): { secret: string } | { problem: string } {
  let secret: string;
  try {
    // One trailing newline is how files are written; it is not part of the secret.
    secret = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  return secret === '' ? { problem: 'is empty; the signing secret must not be' } : { secret };
}
