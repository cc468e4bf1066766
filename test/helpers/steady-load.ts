import { status } from '@grpc/grpc-js';
import { RedirectClient } from './redirect-client.js';

export interface Failure {
  readonly connection: number;
  readonly code: string;
  readonly details: string | undefined;
  /** How long the failed call took: a call stuck on a dying connection would take the deadline. */
  readonly ms: number;
}

/**
 * Clients on separate connections calling in a loop, as a client that keeps calling would,
 * until `stop()`. Counts outcomes by gRPC status code name.
 */
export class SteadyLoad {
  readonly outcomes = new Map<string, number>();
  readonly failures: Failure[] = [];
  private running = true;
  private readonly loops: Promise<void>[];
  private readonly clients: RedirectClient[];

  constructor(port: number, video: string, { connections = 4, pauseMs = 2, deadlineMs = 5000 } = {}) {
    this.clients = Array.from({ length: connections }, () => new RedirectClient(port, { ownConnection: true }));
    this.loops = this.clients.map(async (client, connection) => {
      while (this.running) {
        const started = Date.now();
        const result = await client.redirect(video, deadlineMs);
        const code = status[result.code] ?? String(result.code);
        this.outcomes.set(code, (this.outcomes.get(code) ?? 0) + 1);
        if (result.code !== status.OK) this.failures.push({ connection, code, details: result.details, ms: Date.now() - started });
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    });
  }

  get succeeded(): number {
    return this.outcomes.get('OK') ?? 0;
  }

  describeFailures(): string {
    return this.failures.map((f) => `#${f.connection} ${f.code} after ${f.ms} ms: ${f.details}`).join('; ') || 'none';
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const client of this.clients) client.close();
  }
}
