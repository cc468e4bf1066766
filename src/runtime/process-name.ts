import { writeFileSync } from 'node:fs';

/** What `ps -o comm`, `top`, `pgrep`, `pidof` and `killall` match: at most 15 characters. */
export const PROCESS_COMM = 'video-balancer';

/**
 * Names this process the way nginx names its own (`video-balancer: worker 2` in `ps` and in
 * `/proc/PID/cmdline`), and sets its kernel name to `video-balancer`: Node 24 names its main
 * thread `MainThread`, so without this no tool finds the service by name.
 */
export function nameProcess(role: string, writeComm: (name: string) => void = (name) => writeFileSync('/proc/self/comm', name)): void {
  // libuv rewrites argv (cmdline) and sets the kernel name to the title's first 15 characters.
  // A title can only be as long as the command line the process was started with: `node
  // dist/src/main.js` leaves 21 bytes, so npm start and the image add --title=video-balancer.
  process.title = `${PROCESS_COMM}: ${role}`;
  try {
    writeComm(PROCESS_COMM);
  } catch {
    // Not Linux: the title is all there is.
  }
}
