import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/config.js';

/**
 * Container and orchestrator health check: asks the gRPC health service (`grpc.health.v1`) of
 * the local service. Exit 0 when it answers SERVING, 1 otherwise, printing why.
 * Usage: `node dist/src/cli/health-check.js [host:port]` (default 127.0.0.1:$GRPC_PORT).
 * It reads the service's own configuration, so with TLS_CERT_FILE set it speaks TLS, trusting
 * TLS_CA_FILE or the service's certificate, and presents that certificate when clients must
 * have one. The host name is not checked: this probe only ever talks to its own service.
 */
let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stdout.write(`unhealthy: invalid configuration: ${error.message}\n`);
  process.exit(1);
}
const target = process.argv[2] ?? `127.0.0.1:${config.grpcPort}`;
const timeoutMs = 2000;

const tls = config.tls;
const channelCredentials = tls
  ? credentials.createSsl(tls.ca ?? tls.cert, tls.ca ? tls.key : null, tls.ca ? tls.cert : null, { checkServerIdentity: () => undefined })
  : credentials.createInsecure();
const check = healthService['Check'];
if (check === undefined) throw new Error('grpc-health-check no longer defines Health/Check');
const client = new Client(target, channelCredentials);
const request: { service: string } = { service: '' };
client.makeUnaryRequest<typeof request, { status?: string }>(check.path, check.requestSerialize, check.responseDeserialize, request, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
  client.close();
  if (error) {
    process.stdout.write(`unhealthy: ${error.details || error.message}\n`);
    process.exit(1);
  }
  const state = response?.status ?? 'UNKNOWN';
  process.stdout.write(`${state}\n`);
  process.exit(state === 'SERVING' ? 0 : 1);
});
