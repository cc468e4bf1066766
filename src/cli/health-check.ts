import { credentials, makeGenericClientConstructor, Metadata, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

/**
 * Container and orchestrator health check: asks the gRPC health service (`grpc.health.v1`) of
 * the local service. Exit 0 when it answers SERVING, 1 otherwise, printing why.
 * Usage: `node dist/src/cli/health-check.js [host:port]` (default 127.0.0.1:$GRPC_PORT or 50051).
 */
const target = process.argv[2] ?? `127.0.0.1:${process.env['GRPC_PORT'] || '50051'}`;
const timeoutMs = Number(process.env['HEALTH_CHECK_TIMEOUT_MS'] || 2000);

const Health = makeGenericClientConstructor(healthService as never, 'Health');
const client = new Health(target, credentials.createInsecure()) as unknown as {
  Check(
    request: { service: string },
    metadata: Metadata,
    options: { deadline: number },
    callback: (error: ServiceError | null, response?: { status: string }) => void,
  ): void;
  close(): void;
};

client.Check({ service: '' }, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
  client.close();
  if (error) {
    process.stdout.write(`unhealthy: ${error.details || error.message}\n`);
    process.exit(1);
  }
  const state = response?.status ?? 'UNKNOWN';
  process.stdout.write(`${state}\n`);
  process.exit(state === 'SERVING' ? 0 : 1);
});
