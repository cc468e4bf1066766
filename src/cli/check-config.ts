/**
 * `npm run check-config -- FILE` (or `node dist/src/cli/check-config.js FILE`, as in the image):
 * validates a routing file as the service would, with the routing variables of this environment,
 * prints the routing it would serve and exits 0; or prints what is wrong and exits 1. Like
 * `nginx -t`: run it before a reload, or in the pipeline that ships the file.
 */
import { stringify } from 'yaml';
import { ConfigError } from '../config/config-error.js';
import { readRoutingFile, routingInteger } from '../config/config.js';
import { describeRouting, loadRouting } from '../config/routing-config.js';

const [path, ...rest] = process.argv.slice(2);
if (path === undefined || rest.length > 0 || path.startsWith('-')) {
  process.stderr.write('usage: npm run check-config -- <routing file>\n');
  process.exit(2);
}
try {
  const routing = loadRouting(process.env, { path, text: readRoutingFile(path) }, routingInteger(process.env));
  process.stdout.write(`${path}: ok, routing ${routing.id}\n${stringify(describeRouting(routing))}`);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
