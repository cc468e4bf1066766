import { isSyncReply, type SyncRequest } from './messages.js';

/** Asks the supervisor for the latest broadcasts, oldest first; none if it does not answer in time. */
export function syncWithSupervisor(timeoutMs = 2000): Promise<readonly unknown[]> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isSyncReply(message)) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(message.latest);
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      resolve([]);
    }, timeoutMs);
    process.on('message', onMessage);
    process.send?.({ type: 'sync' } satisfies SyncRequest);
  });
}
