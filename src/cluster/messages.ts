/** IPC messages between the supervisor and its workers. */

/** Worker to supervisor: the gRPC server is listening on `port`. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly port: number;
}

/** Supervisor to worker: stop accepting, finish calls in flight, exit. */
export interface DrainMessage {
  readonly type: 'drain';
}

export function isReadyMessage(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as ReadyMessage).type === 'ready';
}

export function isDrainMessage(message: unknown): message is DrainMessage {
  return typeof message === 'object' && message !== null && (message as DrainMessage).type === 'drain';
}
