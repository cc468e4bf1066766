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

/**
 * Worker to supervisor, at start: send me the latest broadcast (state every worker must start
 * with, such as which CDN hosts are up). The supervisor answers with a SyncReply.
 */
export interface SyncRequest {
  readonly type: 'sync';
}

/** Supervisor to worker: the latest message of each type broadcast to all workers, oldest first. */
export interface SyncReply {
  readonly type: 'synced';
  readonly latest: readonly unknown[];
}

export function isSyncRequest(message: unknown): message is SyncRequest {
  return typeof message === 'object' && message !== null && (message as SyncRequest).type === 'sync';
}

export function isSyncReply(message: unknown): message is SyncReply {
  return typeof message === 'object' && message !== null && (message as SyncReply).type === 'synced';
}

export function isReadyMessage(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as ReadyMessage).type === 'ready';
}

export function isDrainMessage(message: unknown): message is DrainMessage {
  return typeof message === 'object' && message !== null && (message as DrainMessage).type === 'drain';
}

/** Supervisor to worker: read the TLS certificates again (SIGHUP, or their files changed) and give new connections the new pair. */
export interface ReloadCertificatesMessage {
  readonly type: 'reload-certificates';
}

export function isReloadCertificatesMessage(message: unknown): message is ReloadCertificatesMessage {
  return typeof message === 'object' && message !== null && (message as ReloadCertificatesMessage).type === 'reload-certificates';
}
