import { credentials, loadPackageDefinition, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { parseArgs } from 'node:util';
import { REDIRECT_PROTO_PATH } from '../grpc/reflection.js';

/**
 * `npm run call -- <video URL> [--target host:port] [--count N]`: calls Redirect the way any
 * client would, for people without grpcurl. Prints each answer; exits 1 on a failed call.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    target: { type: 'string', default: `127.0.0.1:${process.env['GRPC_PORT'] || '50051'}` },
    count: { type: 'string', default: '1' },
  },
});
const video = positionals[0];
const count = Number(values.count);
if (video === undefined || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: npm run call -- <video URL> [--target host:port] [--count N]\n');
  process.exit(2);
}

const definition = loadSync(REDIRECT_PROTO_PATH, { keepCase: true, defaults: true });
const { loadBalancer } = loadPackageDefinition(definition) as any;
const client = new loadBalancer.loadBalancer(values.target, credentials.createInsecure());

let failed = false;
for (let i = 0; i < count; i++) {
  try {
    const response = await new Promise<{ redirect: string }>((resolve, reject) =>
      client.Redirect({ video }, new Metadata(), { deadline: Date.now() + 5000 }, (error: ServiceError | null, r: { redirect: string }) =>
        error ? reject(error) : resolve(r),
      ),
    );
    process.stdout.write(`${response.redirect}\n`);
  } catch (error) {
    const serviceError = error as ServiceError;
    process.stderr.write(`${status[serviceError.code] ?? serviceError.code}: ${serviceError.details}\n`);
    failed = true;
  }
}
client.close();
process.exit(failed ? 1 : 0);
