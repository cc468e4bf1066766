import type { IpAddress } from './steering/ip-address.js';
import type { SteeringDecision } from './steering/steering.js';

/**
 * A viewer as an edge found it (the connection's peer, or the address a trusted proxy forwarded):
 * its address, and the pool the router decided for it, kept while the routing it was decided
 * under serves. An edge keeps one per connection, so the peer's pool is looked up once.
 */
export class Viewer {
  decision: SteeringDecision | undefined;
  /** The compiled routing `decision` belongs to (the router's business). */
  decidedUnder: object | undefined;

  constructor(readonly address: IpAddress | undefined) {}
}
