import { credentials, loadPackageDefinition, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { REDIRECT_PROTO_PATH } from '../../src/grpc/reflection.js';

/** The outcome of one call: the answer, or the gRPC status of the failure. */
export interface CallResult {
  readonly code: status;
  readonly redirect?: string;
  readonly details?: string;
}

type RedirectFn = (
  request: { video: string },
  metadata: Metadata,
  options: { deadline: number },
  callback: (error: ServiceError | null, response?: { redirect: string }) => void,
) => void;

const definition = loadSync(REDIRECT_PROTO_PATH, { keepCase: true, defaults: true });
const grpcObject = loadPackageDefinition(definition) as unknown as {
  loadBalancer: { loadBalancer: new (address: string, creds: unknown, options: object) => Client & { Redirect: RedirectFn } };
};

/**
 * A grpc-js client that encodes with proto-loader, not with the service's own codec, so the
 * tests check the wire format independently. `ownConnection` gives the client its own HTTP/2
 * connection (grpc.use_local_subchannel_pool); otherwise clients in one process share one.
 */
export class RedirectClient {
  private readonly client: Client & { Redirect: RedirectFn };

  constructor(port: number, { ownConnection = false, host = '127.0.0.1', channelCredentials = credentials.createInsecure() } = {}) {
    const options = ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {};
    this.client = new grpcObject.loadBalancer.loadBalancer(`${host}:${port}`, channelCredentials, options);
  }

  redirect(video: string, timeoutMs = 5000): Promise<CallResult> {
    return new Promise((resolve) => {
      this.client.Redirect({ video }, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (error) resolve({ code: error.code, details: error.details });
        else resolve({ code: status.OK, redirect: response?.redirect ?? '' });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
