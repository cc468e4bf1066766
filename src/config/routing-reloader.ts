import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { readRoutingFile, routingInteger } from './config.js';
import { loadRouting, routingChanges, type RoutingConfig } from './routing-config.js';

/** File events closer together than this are one change (an editor's save, a ConfigMap's swap). */
export const RELOAD_DEBOUNCE_MS = 250;

export type ReloadTrigger = 'SIGHUP' | 'file changed';

/** What `/metrics` says of reloads. */
export interface ReloadStatus {
  readonly lastReloadSuccessful: boolean;
  /** Unix seconds of the last reload that applied (or of start-up). */
  readonly lastSuccessSeconds: number;
  readonly routingId: string;
}

/**
 * Re-reads and validates CONFIG_FILE on SIGHUP and when the file changes, and hands a routing
 * that validates to `apply`; one that does not is refused with one log line, and the running
 * routing stays. Watches the file's folder rather than the file: a Kubernetes ConfigMap update
 * swaps a symlink (`..data`) in that folder, which a watch on the file itself never sees; and
 * likewise the folders of the coverage zone file and geolocation database its steering reads.
 */
export class RoutingReloader {
  private routing: RoutingConfig;
  private text: string | undefined;
  private successful = true;
  private lastSuccessSeconds = Date.now() / 1000;
  /** One watch per folder (the routing file's, and those of the files its steering reads), with the names it follows there. */
  private readonly watchers = new Map<string, { watcher: FSWatcher; names: Set<string> }>();
  private watching = false;
  private debounce: NodeJS.Timeout | undefined;
  /** Reloads run one at a time; a trigger during one runs once more after it. */
  private running: Promise<void> | undefined;
  private again: ReloadTrigger | undefined;

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly configFile: string,
    initial: { routing: RoutingConfig; text: string },
    private readonly logger: Logger,
    private readonly apply: (routing: RoutingConfig, text: string) => Promise<void> | void,
  ) {
    this.routing = initial.routing;
    this.text = initial.text;
  }

  get status(): ReloadStatus {
    return { lastReloadSuccessful: this.successful, lastSuccessSeconds: this.lastSuccessSeconds, routingId: this.routing.id };
  }

  get current(): RoutingConfig {
    return this.routing;
  }

  /** Reloads now, or right after the reload under way. Resolves when done. */
  reload(trigger: ReloadTrigger): Promise<void> {
    if (this.running) {
      this.again = trigger;
      return this.running;
    }
    this.running = this.reloadOnce(trigger).finally(() => {
      this.running = undefined;
      const next = this.again;
      this.again = undefined;
      if (next) void this.reload(next);
    });
    return this.running;
  }

  private async reloadOnce(trigger: ReloadTrigger): Promise<void> {
    let text: string;
    let routing: RoutingConfig;
    try {
      text = readRoutingFile(this.configFile);
      routing = loadRouting(this.env, { path: this.configFile, text }, routingInteger(this.env));
      // A folder event that changed nothing (another file, a touch) is no reload; a changed
      // coverage zone file or database changes the routing's identifier, the text or not.
      if (trigger === 'file changed' && text === this.text && routing.id === this.routing.id) return;
    } catch (error) {
      this.successful = false;
      this.logger.error(
        { trigger, routingId: this.routing.id },
        `routing reload refused, still serving routing ${this.routing.id}: ${(error as Error).message}`,
      );
      return;
    }
    const changes = routingChanges(this.routing, routing);
    try {
      await this.apply(routing, text);
    } catch (error) {
      this.successful = false;
      this.logger.error({ err: error, trigger, routingId: this.routing.id }, `routing reload failed to apply: ${(error as Error).message}`);
      return;
    }
    this.routing = routing;
    this.text = text;
    this.successful = true;
    this.lastSuccessSeconds = Date.now() / 1000;
    // Before the line that says so: a change right after it must find the watches in place.
    if (this.watching) this.watchFiles();
    this.logger.info({ trigger, routingId: routing.id, ...changes }, `routing reloaded: now serving routing ${routing.id}`);
  }

  /** Reloads whenever the routing file's folder, or the folder of a file its steering reads, changes; debounced. */
  watch(): void {
    this.watching = true;
    this.watchFiles();
  }

  private watchFiles(): void {
    const names = new Map<string, Set<string>>();
    for (const file of [this.configFile, ...(this.routing.steering?.files ?? [])]) {
      const folder = dirname(file);
      names.set(folder, (names.get(folder) ?? new Set()).add(basename(file)));
    }
    for (const [folder, watched] of this.watchers) {
      if (names.has(folder)) continue;
      watched.watcher.close();
      this.watchers.delete(folder);
    }
    for (const [folder, files] of names) {
      // A folder already watched keeps its watch (a change while one is replaced would be lost): only its names change.
      const watched = this.watchers.get(folder);
      if (watched) {
        watched.names.clear();
        for (const file of files) watched.names.add(file);
        continue;
      }
      try {
        const watcher = watch(folder, { persistent: false }, (_event, changed) => {
          // A ConfigMap names its swap `..data`; an editor may write a temporary file first.
          if (changed !== null && !files.has(changed) && !changed.startsWith('..')) return;
          clearTimeout(this.debounce);
          this.debounce = setTimeout(() => void this.reload('file changed'), RELOAD_DEBOUNCE_MS);
        });
        watcher.on('error', (error) => this.logger.error({ err: error, folder }, `stopped watching ${folder} for routing changes`));
        this.watchers.set(folder, { watcher, names: files });
      } catch (error) {
        this.logger.warn({ err: error, folder }, `cannot watch ${folder}: the routing reloads on SIGHUP only`);
      }
    }
  }

  stop(): void {
    clearTimeout(this.debounce);
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
