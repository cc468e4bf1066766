import t from 'tap';
import { RateLimitedLog } from '../../src/logging/rate-limited-log.js';
import type { Logger } from '../../src/logging/logger.js';

t.test('one line per key per interval; the next line counts what was left out', async (t) => {
  const lines: Array<[Record<string, unknown>, string]> = [];
  const logger = { warn: (fields: Record<string, unknown>, message: string) => lines.push([fields, message]) } as unknown as Logger;
  let now = 0;
  const log = new RateLimitedLog(logger, 10_000, () => now);
  log.warn('flood', { peer: 'a' }, 'closed');
  log.warn('flood', { peer: 'b' }, 'closed');
  log.warn('other', { peer: 'c' }, 'closed');
  now = 9_999;
  log.warn('flood', { peer: 'd' }, 'closed');
  now = 10_000;
  log.warn('flood', { peer: 'e' }, 'closed');
  t.same(lines, [
    [{ peer: 'a' }, 'closed'],
    [{ peer: 'c' }, 'closed'],
    [{ peer: 'e', suppressedSinceLastLine: 2 }, 'closed'],
  ]);
});
