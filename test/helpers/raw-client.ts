import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import type { CallResult } from './redirect-client.js';

/**
 * Sends arbitrary bytes as the request message of any method: malformed protobuf, invalid
 * UTF-8, unknown methods. The answer is returned as raw bytes too.
 */
export class RawClient {
  private readonly client: Client;

  constructor(port: number) {
    this.client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  }

  call(path: string, message: Buffer, timeoutMs = 5000): Promise<CallResult & { bytes?: Buffer }> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        path,
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        message,
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          if (error) resolve({ code: error.code, details: error.details });
          else resolve({ code: status.OK, bytes: response });
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
