import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../logging/logger.js';
import type { Config } from './config.js';
import { RELOAD_DEBOUNCE_MS } from './routing-reloader.js';

/** The certificate files of both ports (gRPC, the front door). */
export function certificateFiles(config: Config): string[] {
  return [config.tls?.certFile, config.tls?.keyFile, config.tls?.caFile, config.http.tls?.certFile, config.http.tls?.keyFile].filter((f): f is string => f !== undefined);
}

/**
 * Calls `reload` on SIGHUP and when a certificate file changes (debounced): certbot and
 * cert-manager replace the files, a Kubernetes Secret swaps a `..data` symlink in their folder,
 * so the folders are watched rather than the files. Returns a stop function.
 */
export function watchCertificates(config: Config, logger: Logger, reload: (trigger: 'SIGHUP' | 'file changed') => void): () => void {
  const files = certificateFiles(config);
  if (files.length === 0) return () => undefined;
  const folders = new Map<string, Set<string>>();
  for (const file of files) folders.set(dirname(file), (folders.get(dirname(file)) ?? new Set()).add(basename(file)));
  let debounce: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  for (const [folder, names] of folders) {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, changed) => {
        if (changed !== null && !names.has(changed) && !changed.startsWith('..')) return;
        clearTimeout(debounce);
        debounce = setTimeout(() => reload('file changed'), RELOAD_DEBOUNCE_MS);
      });
      watcher.on('error', (error) => logger.error({ err: error, folder }, `stopped watching ${folder} for certificate changes`));
      watchers.push(watcher);
    } catch (error) {
      logger.warn({ err: error, folder }, `cannot watch ${folder}: certificates reload on SIGHUP only`);
    }
  }
  const onHangup = () => reload('SIGHUP');
  process.on('SIGHUP', onHangup);
  return () => {
    clearTimeout(debounce);
    for (const watcher of watchers) watcher.close();
    process.off('SIGHUP', onHangup);
  };
}
