import { status } from '@grpc/grpc-js';
import { RedirectClient } from './redirect-client.js';

/**
 * Clients on separate connections calling in a loop, as a client that keeps calling would,
 * until `stop()`. Counts outcomes by gRPC status code name.
 */
export class SteadyLoad {
  readonly outcomes = new Map<string, number>();
  readonly failures: string[] = [];
  private running = true;
  private readonly loops: Promise<void>[];
  private readonly clients: RedirectClient[];

  constructor(port: number, video: string, { connections = 4, pauseMs = 2 } = {}) {
    this.clients = Array.from({ length: connections }, () => new RedirectClient(port, { ownConnection: true }));
    this.loops = this.clients.map(async (client) => {
      while (this.running) {
        const result = await client.redirect(video, 5000);
        const name = status[result.code] ?? String(result.code);
        this.outcomes.set(name, (this.outcomes.get(name) ?? 0) + 1);
        if (result.code !== status.OK) this.failures.push(`${name}: ${result.details}`);
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    });
  }

  get succeeded(): number {
    return this.outcomes.get('OK') ?? 0;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const client of this.clients) client.close();
  }
}
