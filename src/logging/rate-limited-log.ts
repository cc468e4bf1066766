import type { Logger } from './logger.js';

/**
 * Warnings (and errors) that an attacker, or a bug hit on every call, can cause by the thousand, written at most once per key per
 * interval: the first at once, then one line per interval that counts what it left out.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    this.write('warn', key, fields, message);
  }

  error(key: string, fields: Record<string, unknown>, message: string): void {
    this.write('error', key, fields, message);
  }

  private write(level: 'warn' | 'error', key: string, fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    const last = this.last.get(key);
    if (last && now - last.at < this.intervalMs) {
      last.suppressed++;
      return;
    }
    this.logger[level]({ ...fields, ...(last && { suppressedSinceLastLine: last.suppressed }) }, message);
    this.last.set(key, { at: now, suppressed: 0 });
  }
}
