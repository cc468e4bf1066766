import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** TCP state 01 in /proc/net/tcp: ESTABLISHED. */
const ESTABLISHED = '01';

/**
 * How many ESTABLISHED TCP connections to local `port` the process `pid` holds open: what
 * `ss -tnp state established sport = :PORT` shows for that process, read from /proc (Linux);
 * with `peerPort`, only the connection from that client port.
 */
export function establishedConnectionsHeldBy(pid: number, port: number, peerPort?: number): number {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [, localPort] = (fields[1] ?? '').split(':');
      const [, remotePort] = (fields[2] ?? '').split(':');
      if (peerPort !== undefined && parseInt(remotePort ?? '', 16) !== peerPort) continue;
      if (localPort !== undefined && parseInt(localPort, 16) === port && fields[3] === ESTABLISHED) inodes.add(fields[9] as string);
    }
  }
  let held = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match && inodes.has(match[1] as string)) held++;
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return held;
}
