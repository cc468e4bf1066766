import { replaceCdnProber, type CdnProbers, type HostLoads } from '../cdn-health/cdn-prober.js';
import type { Logger } from '../logging/logger.js';
import { staticReloadStatus } from '../telemetry/reload-metrics.js';
import type { Config } from './config.js';
import type { RoutingConfig } from './routing-config.js';
import { RoutingReloader, type ReloadStatus } from './routing-reloader.js';

export interface RoutingControlOptions {
  readonly config: Config;
  /** The environment `config` came from: a reloaded file is validated against it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The CONFIG_FILE text `config.routing` was built from. */
  readonly routingText: string | undefined;
  readonly logger: Logger;
  /** The up set, or the load readings, of the CDN hosts of the routing that serves changed. */
  readonly publishUp: (up: readonly string[], loads: HostLoads) => void;
  /**
   * Makes what serves calls serve `routing` with `up` as its up hosts. Throwing refuses the
   * reload: the routing that served before is published again, and the reload counts as failed
   * with the error's message.
   */
  readonly publish: (routing: RoutingConfig, text: string | null, up: readonly string[] | null, loads: HostLoads | null) => Promise<void> | void;
}

export interface RoutingControl {
  readonly prober: CdnProbers | undefined;
  readonly status: () => ReloadStatus;
  stop(): void;
}

/**
 * One machine's CDN prober and routing reloader, and SIGHUP: the primary's (which publishes to
 * its workers by IPC) and each pm2 instance's (which publishes to its own router) alike. The
 * routing is published at start; a new prober's up set only once the routing it belongs to is
 * published (replaceCdnProber keeps it quiet until then).
 */
export async function startRoutingControl({ config, env, routingText, logger, publishUp, publish }: RoutingControlOptions): Promise<RoutingControl> {
  let prober = await replaceCdnProber(undefined, config.routing.pools, logger, publishUp);
  const upHosts = () => (prober ? prober.upHosts : null);
  const loads = () => (prober ? prober.loadsByHost : null);
  await publish(config.routing, routingText ?? null, upHosts(), loads());
  let serving = { routing: config.routing, text: routingText ?? null };
  const reloader =
    config.configFile !== undefined && routingText !== undefined
      ? new RoutingReloader(env, config.configFile, { routing: config.routing, text: routingText }, logger, async (routing, text) => {
          prober = await replaceCdnProber(prober, routing.pools, logger, publishUp);
          try {
            await publish(routing, text, upHosts(), loads());
          } catch (error) {
            // Back to what served, everywhere: some may have taken the new routing already.
            prober = await replaceCdnProber(prober, serving.routing.pools, logger, publishUp);
            await Promise.resolve(publish(serving.routing, serving.text, upHosts(), loads())).catch((again: unknown) =>
              logger.error({ err: again }, `cannot publish routing ${serving.routing.id} again: ${(again as Error).message}`),
            );
            throw error;
          }
          serving = { routing, text };
        })
      : undefined;
  process.on('SIGHUP', () => {
    if (reloader) void reloader.reload('SIGHUP');
    else logger.warn('SIGHUP: there is no CONFIG_FILE to reload (the routing comes from the environment)');
  });
  reloader?.watch();
  const fixed = staticReloadStatus(config.routing);
  return {
    get prober() {
      return prober;
    },
    status: () => reloader?.status ?? fixed(),
    stop: () => {
      prober?.stop();
      reloader?.stop();
    },
  };
}
