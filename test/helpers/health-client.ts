import { credentials, makeGenericClientConstructor, Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

interface HealthStub {
  Check(request: { service: string }, metadata: Metadata, options: object, callback: (e: ServiceError | null, r?: { status: string }) => void): void;
  Watch(request: { service: string }): ClientReadableStream<{ status: string }>;
  close(): void;
}

const Health = makeGenericClientConstructor(healthService as never, 'Health');

/** A `grpc.health.v1.Health` client on its own connection. */
export class HealthClient {
  readonly stub: HealthStub;

  constructor(port: number) {
    this.stub = new Health(`127.0.0.1:${port}`, credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }) as unknown as HealthStub;
  }

  check(service = '', timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) =>
      this.stub.Check({ service }, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) =>
        error ? reject(error) : resolve(response?.status ?? 'UNKNOWN'),
      ),
    );
  }

  close(): void {
    this.stub.close();
  }
}
