import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './config-error.js';

/** TLS material for the gRPC port, read and checked once at start. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** When set, clients must present a certificate signed by this CA. */
  readonly caFile: string | undefined;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

/**
 * Reads TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE. Both of the first two or neither; each file
 * readable PEM; the key must belong to the certificate. Throws ConfigError naming the variable.
 */
export function loadTlsFiles(certFile: string | undefined, keyFile: string | undefined, caFile: string | undefined): TlsFiles | undefined {
  if (certFile === undefined && keyFile === undefined) {
    if (caFile !== undefined) throw new ConfigError('TLS_CA_FILE', caFile, 'needs TLS_CERT_FILE and TLS_KEY_FILE too');
    return undefined;
  }
  if (certFile === undefined) throw new ConfigError('TLS_CERT_FILE', '', 'must be set when TLS_KEY_FILE is');
  if (keyFile === undefined) throw new ConfigError('TLS_KEY_FILE', '', 'must be set when TLS_CERT_FILE is');
  const cert = readPem('TLS_CERT_FILE', certFile, 'CERTIFICATE');
  const key = readPem('TLS_KEY_FILE', keyFile, 'PRIVATE KEY');
  const ca = caFile === undefined ? undefined : readPem('TLS_CA_FILE', caFile, 'CERTIFICATE');
  try {
    createSecureContext({ cert, key, ...(ca && { ca }) });
  } catch (error) {
    const reason = (error as Error).message;
    if (/key values mismatch/i.test(reason)) {
      throw new ConfigError('TLS_KEY_FILE', keyFile, `the key does not belong to the certificate in TLS_CERT_FILE (${certFile})`);
    }
    throw new ConfigError('TLS_CERT_FILE', certFile, `cannot be used with TLS_KEY_FILE: ${reason}`);
  }
  return Object.freeze({ certFile, keyFile, caFile, cert, key, ca });
}

function readPem(variable: string, file: string, kind: string): Buffer {
  let contents: Buffer;
  try {
    contents = readFileSync(file);
  } catch (error) {
    throw new ConfigError(variable, file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!contents.includes(`-----BEGIN `) || !contents.includes(kind)) {
    throw new ConfigError(variable, file, `expected a PEM file with a ${kind}`);
  }
  return contents;
}
