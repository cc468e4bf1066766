import { readFileSync } from 'node:fs';

/** What the kernel calls a process (`comm`, what top and pgrep show) and its command line as ps shows it. */
export function processName(pid: number): { comm: string; cmdline: string } {
  return {
    comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd(),
    // Arguments are NUL-separated, and libuv pads a shorter title with NULs.
    cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' '),
  };
}
