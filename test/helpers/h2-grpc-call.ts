import { connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';

/** What came back on one stream, decoded just enough to compare two servers. */
export interface H2Answer {
  readonly httpStatus: number | undefined;
  /** grpc-status and grpc-message, from the trailers or a trailers-only response. */
  readonly grpcStatus: string | undefined;
  readonly grpcMessage: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly data: Buffer;
  /** The stream was reset or the session failed before an answer. */
  readonly error?: string;
}

export interface H2Request {
  readonly path?: string;
  readonly headers?: OutgoingHttpHeaders;
  /** DATA to send, chunk by chunk. */
  readonly chunks?: readonly Buffer[];
  /** false: leave the request open after the chunks (a client that stops sending). */
  readonly end?: boolean;
  /** Reset the stream (RST_STREAM CANCEL) this long after sending. */
  readonly cancelAfterMs?: number;
  /** Give up waiting for an answer after this long. */
  readonly timeoutMs?: number;
}

/**
 * gRPC spoken by hand over node:http2, so that tests can send what no gRPC client sends (a wrong
 * content-type, two messages in a unary call, a truncated frame, a compressed message, a bad
 * grpc-timeout) and see exactly what the server answers.
 */
export class H2GrpcClient {
  private readonly session: ClientHttp2Session;

  /** `localAddress`: the address to connect from (any of 127.0.0.0/8 works on loopback, or ::1). */
  constructor(port: number, { host = '127.0.0.1', localAddress }: { host?: string; localAddress?: string } = {}) {
    const authority = host.includes(':') ? `[${host}]` : host;
    this.session = connect(`http://${authority}:${port}`, localAddress === undefined ? {} : { createConnection: () => netConnect({ host, port, localAddress }) });
    this.session.on('error', () => undefined);
  }

  call(request: H2Request): Promise<H2Answer> {
    return new Promise((resolve) => {
      const stream = this.session.request({
        ':method': 'POST',
        ':path': request.path ?? '/loadBalancer.loadBalancer/Redirect',
        'content-type': 'application/grpc',
        te: 'trailers',
        ...request.headers,
      });
      let headers: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      const data: Buffer[] = [];
      let settled = false;
      const finish = (error?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const status = trailers['grpc-status'] ?? headers['grpc-status'];
        const message = trailers['grpc-message'] ?? headers['grpc-message'];
        resolve({
          httpStatus: headers[':status'] as number | undefined,
          grpcStatus: status as string | undefined,
          grpcMessage: message === undefined ? undefined : decodeURIComponent(message as string),
          headers,
          data: Buffer.concat(data),
          ...(error === undefined ? {} : { error }),
        });
      };
      const timer = setTimeout(() => {
        finish('no answer in time');
        stream.close();
      }, request.timeoutMs ?? 5000);
      stream.on('response', (h) => (headers = h));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (chunk: Buffer) => data.push(chunk));
      stream.on('close', () => finish(stream.rstCode ? `reset with code ${stream.rstCode}` : undefined));
      stream.on('error', () => undefined);
      for (const chunk of request.chunks ?? []) stream.write(chunk);
      if (request.end ?? true) stream.end();
      if (request.cancelAfterMs !== undefined) setTimeout(() => stream.close(8 /* NGHTTP2_CANCEL */), request.cancelAfterMs);
    });
  }

  /** Called when the server sends GOAWAY on this connection. */
  onGoaway(listener: () => void): void {
    this.session.once('goaway', listener);
  }

  close(): void {
    this.session.close();
  }
}

/** `message` framed as a gRPC message; `compressed` sets the flag byte. */
export function grpcFrame(message: Buffer, compressed = false): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame[0] = compressed ? 1 : 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}
