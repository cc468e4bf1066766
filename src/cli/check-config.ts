/**
 * `npm run check-config -- FILE` (or `node dist/src/cli/check-config.js FILE`, as in the image):
 * validates a routing file as the service would, with the routing variables of this environment,
 * prints the routing it would serve and exits 0; or prints what is wrong and exits 1. Like
 * `nginx -t`: run it before a reload, or in the pipeline that ships the file.
 *
 * `--client ADDR`: also which pool a viewer at ADDR gets, and why (the zone and network, or the
 * country or continent). `--peer ADDR --forwarded-for LIST`: the same for a call from a proxy at
 * ADDR that sends `x-forwarded-for: LIST`, which is believed only when ADDR is a trusted proxy.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { ConfigError } from '../config/config-error.js';
import { readRoutingFile, routingInteger } from '../config/config.js';
import { describeRouting, loadRouting, type RoutingConfig } from '../config/routing-config.js';
import { forwardedAddress } from '../edge/viewer-address.js';
import { RedirectRouter } from '../routing/redirect-router.js';
import { parseIpAddress, type IpAddress } from '../routing/steering/ip-address.js';
import { formatNetwork } from '../routing/steering/network-table.js';
import { Viewer } from '../routing/viewer.js';

const USAGE = 'usage: npm run check-config -- <routing file> [--client ADDR | --peer ADDR [--forwarded-for LIST]]\n';
let args: ReturnType<typeof parse>;
const parse = () =>
  parseArgs({ allowPositionals: true, options: { client: { type: 'string' }, peer: { type: 'string' }, 'forwarded-for': { type: 'string' } } });
try {
  args = parse();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
const [path, ...rest] = args.positionals;
const { client, peer, 'forwarded-for': forwardedFor } = args.values;
if (path === undefined || rest.length > 0 || (client !== undefined && peer !== undefined) || (forwardedFor !== undefined && peer === undefined)) {
  process.stderr.write(USAGE);
  process.exit(2);
}
let routing: RoutingConfig;
try {
  routing = loadRouting(process.env, { path, text: readRoutingFile(path) }, routingInteger(process.env));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
process.stdout.write(`${path}: ok, routing ${routing.id}\n${stringify(describeRouting(routing))}`);

const asked = client ?? peer;
if (asked !== undefined) {
  const address = parseIpAddress(asked);
  if (address === undefined) {
    process.stderr.write(`${JSON.stringify(asked)} is not an IP address\n`);
    process.exit(2);
  }
  let viewer: IpAddress = address;
  if (peer !== undefined) {
    const trusted = routing.steering?.trustedProxies;
    if (trusted === undefined || trusted.lookup(address) === undefined) {
      process.stdout.write(`peer ${address.text} is not a trusted proxy (steering.trustedProxies): its forwarding headers are ignored\n`);
    } else {
      const forwarded = forwardedFor === undefined ? undefined : forwardedAddress({ 'x-forwarded-for': forwardedFor }, trusted);
      if (forwarded === undefined) process.stdout.write(`peer ${address.text} is a trusted proxy, but x-forwarded-for names no address that parses: the peer's own counts\n`);
      else process.stdout.write(`peer ${address.text} is a trusted proxy: the viewer is ${forwarded.text}, from x-forwarded-for\n`);
      viewer = forwarded ?? address;
    }
  }
  const decision = new RedirectRouter(routing).decide(new Viewer(viewer));
  const pool = routing.pools[decision.pool];
  const why =
    decision.method === 'zone'
      ? `zone ${decision.zone}, network ${decision.network ? formatNetwork(decision.network) : '?'}`
      : decision.method === 'country'
        ? `country ${decision.country}`
        : decision.method === 'continent'
          ? `continent ${decision.continent} (country ${decision.country ?? 'unknown'})`
          : routing.steering === undefined
            ? 'no steering: the default pool serves everyone'
            : `no zone, country or continent matched${decision.country ? ` (country ${decision.country}, continent ${decision.continent ?? 'unknown'})` : ''}`;
  process.stdout.write(`viewer ${viewer.text}: pool ${pool?.name} (${why}); its hosts: ${pool?.hosts.map((h) => h.baseUrl).join(', ')}\n`);
}
