import { readFileSync } from 'node:fs';

const SYSCTL_PATH = '/proc/sys/net/ipv4/tcp_migrate_req';

/**
 * Linux's `net.ipv4.tcp_migrate_req` (kernel 5.14+): with 1, connections waiting in the accept
 * queue of an SO_REUSEPORT socket that closes (a worker that dies or drains) move to another
 * socket of the port instead of being reset. Undefined where the setting does not exist.
 */
export function tcpMigrateReqEnabled(read: (path: string) => string = (path) => readFileSync(path, 'utf8')): boolean | undefined {
  try {
    return read(SYSCTL_PATH).trim() === '1';
  } catch {
    return undefined;
  }
}
