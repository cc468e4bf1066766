/**
 * Primary to workers: the routing to serve, as the routing file's text (each worker validates it
 * against its own environment, as the primary did: a signing secret never crosses IPC), and the
 * CDN hosts that are up for it. Sent at start and after every reload; each worker answers a
 * RoutingAck.
 */
export interface RoutingMessage {
  readonly type: 'routing';
  /** The accepted CONFIG_FILE text; null when the routing comes from the environment alone. */
  readonly text: string | null;
  /** Base URLs of the CDN hosts that are up; null = no health checks, every host is up. */
  readonly cdnUp: readonly string[] | null;
  /** The last load reading of each CDN host that reports one, by base URL; null = none. */
  readonly cdnLoads?: Readonly<Record<string, number>> | null;
  /** The routing the primary built from `text`: a worker that builds another one says so. */
  readonly routingId: string;
}

/** Worker to primary: whether it serves the routing of a RoutingMessage (error: why not). */
export interface RoutingAck {
  readonly type: 'routing-applied';
  readonly routingId: string;
  readonly error: string | null;
}

export function isRoutingMessage(message: unknown): message is RoutingMessage {
  return typeof message === 'object' && message !== null && (message as RoutingMessage).type === 'routing';
}

export function isRoutingAck(message: unknown): message is RoutingAck {
  return typeof message === 'object' && message !== null && (message as RoutingAck).type === 'routing-applied';
}
