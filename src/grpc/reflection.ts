import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';

/** `proto/loadbalancer.proto`, found from `src/grpc` and from `dist/src/grpc` alike. */
export const REDIRECT_PROTO_PATH = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../proto/loadbalancer.proto' : '../../proto/loadbalancer.proto', import.meta.url),
);

/**
 * Server reflection (v1 and v1alpha) for the Redirect and health services, so that grpcurl works
 * without the proto file. proto-loader is used here only; calls go through the hand-written codec.
 */
export function createReflectionService(): ReflectionService {
  const definition = loadSync([REDIRECT_PROTO_PATH, healthProtoPath], {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return new ReflectionService(definition);
}
