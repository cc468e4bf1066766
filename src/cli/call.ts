import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/config.js';
import { decodeResponseRedirect, encodeRequest } from '../grpc/redirect-codec.js';
import { REDIRECT_METHOD_PATH } from '../grpc/redirect-service.js';

/**
 * `npm run call -- <video URL> [--target host:port] [--count N]`: calls Redirect the way any
 * client would, for people without grpcurl. Prints each answer; exits 1 on a failed call, 2 on
 * a usage mistake. The default target is this machine's GRPC_PORT, read as the service reads it.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { target: { type: 'string' }, count: { type: 'string', default: '1' } },
});
const video = positionals[0];
const count = Number(values.count);
if (video === undefined || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: npm run call -- <video URL> [--target host:port] [--count N]\n');
  process.exit(2);
}
let target = values.target;
if (target === undefined) {
  try {
    target = `127.0.0.1:${loadConfig(process.env).grpcPort}`;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`no --target, and the configuration is invalid: ${error.message}\n`);
    process.exit(2);
  }
}

const client = new Client(target, credentials.createInsecure());
let failed = false;
for (let i = 0; i < count; i++) {
  try {
    const redirect = await new Promise<string>((resolve, reject) =>
      client.makeUnaryRequest(REDIRECT_METHOD_PATH, encodeRequest, decodeResponseRedirect, video, new Metadata(), { deadline: Date.now() + 5000 }, (error, answer) =>
        error || answer === undefined ? reject(error) : resolve(answer),
      ),
    );
    process.stdout.write(`${redirect}\n`);
  } catch (error) {
    const serviceError = error as ServiceError;
    process.stderr.write(`${status[serviceError.code] ?? serviceError.code}: ${serviceError.details}\n`);
    failed = true;
  }
}
client.close();
process.exit(failed ? 1 : 0);
