import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './config-error.js';

/** TLS material for a port: read and checked at start, and again on a reload of the certificates. */
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
/** The variables that name a port's files: the gRPC port's (the default) or the front door's. */
export interface TlsVariables {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export const GRPC_TLS_VARIABLES: TlsVariables = Object.freeze({ cert: 'TLS_CERT_FILE', key: 'TLS_KEY_FILE', ca: 'TLS_CA_FILE' });
export const HTTP_TLS_VARIABLES: TlsVariables = Object.freeze({ cert: 'HTTP_TLS_CERT_FILE', key: 'HTTP_TLS_KEY_FILE', ca: 'HTTP_TLS_CA_FILE' });

export function loadTlsFiles(
  certFile: string | undefined,
  keyFile: string | undefined,
  caFile: string | undefined,
  names: TlsVariables = GRPC_TLS_VARIABLES,
): TlsFiles | undefined {
  if (certFile === undefined && keyFile === undefined) {
    if (caFile !== undefined) throw new ConfigError(names.ca, caFile, `needs ${names.cert} and ${names.key} too`);
    return undefined;
  }
  if (certFile === undefined) throw new ConfigError(names.cert, '', `must be set when ${names.key} is`);
  if (keyFile === undefined) throw new ConfigError(names.key, '', `must be set when ${names.cert} is`);
  const cert = readPem(names.cert, certFile, 'CERTIFICATE');
  const key = readPem(names.key, keyFile, 'PRIVATE KEY');
  const ca = caFile === undefined ? undefined : readPem(names.ca, caFile, 'CERTIFICATE');
  try {
    createSecureContext({ cert, key, ...(ca && { ca }) });
  } catch (error) {
    const reason = (error as Error).message;
    if (/key values mismatch/i.test(reason)) {
      throw new ConfigError(names.key, keyFile, `the key does not belong to the certificate in ${names.cert} (${certFile})`);
    }
    throw new ConfigError(names.cert, certFile, `cannot be used with ${names.key}: ${reason}`);
  }
  return Object.freeze({ certFile, keyFile, caFile, cert, key, ca });
}

/** The same files read again (a renewal): the new pair, or a ConfigError naming what is wrong. */
export function reloadTlsFiles(current: TlsFiles, names: TlsVariables = GRPC_TLS_VARIABLES): TlsFiles {
  return loadTlsFiles(current.certFile, current.keyFile, current.caFile, names) as TlsFiles;
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
