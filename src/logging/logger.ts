import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';

export type { Logger };

/**
 * JSON lines on stdout. The destination is synchronous, so each line leaves in a single
 * write(2); lines stay under PIPE_BUF (4 KiB: callers cut long input, see `truncateForLog`),
 * which the kernel writes atomically, so workers sharing one stdout never interleave mid-line.
 *
 * Under pm2 (`viaStdoutStream`) lines go through `process.stdout.write`, which pm2 replaces to
 * collect each instance's output; writing to file descriptor 1 would bypass it and lose them.
 */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}, { viaStdoutStream = false } = {}): Logger {
  return pino(
    { level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime },
    viaStdoutStream ? process.stdout : pino.destination({ dest: 1, sync: true }),
  );
}

const MAX_LOGGED_INPUT = 512;

/** Caller input in a log line is cut so that the line stays one atomic write. */
export function truncateForLog(input: string): string {
  return input.length <= MAX_LOGGED_INPUT ? input : `${input.slice(0, MAX_LOGGED_INPUT)}...(${input.length} chars)`;
}
