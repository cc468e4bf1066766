import { RateLimitedLog } from '../logging/rate-limited-log.js';
import type { Logger } from '../logging/logger.js';
import { InvalidRequestError } from '../routing/invalid-request-error.js';

/** An unexpected failure is logged once per this interval, with a count of the rest. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * What an error thrown while answering a redirect becomes, decided in one place for both edges
 * (gRPC and the HTTP front door): the caller's mistake (InvalidRequestError) is answered with its
 * message; anything else is the service's own failure, logged as an error (rate-limited: a bug
 * hit on every call must not flood the log) and answered with the edge's generic failure (gRPC
 * INTERNAL, HTTP 500). Never rethrown: the process keeps serving every other call.
 */
export class RedirectFailures {
  private readonly log: RateLimitedLog;

  constructor(logger: Logger) {
    this.log = new RateLimitedLog(logger, FAILURE_LOG_INTERVAL_MS);
  }

  /** The caller's mistake's message; undefined for a failure of ours, which is logged here. */
  callersMistake(error: unknown, edge: 'grpc' | 'http'): string | undefined {
    if (error instanceof InvalidRequestError) return error.message;
    this.log.error(`failure:${edge}`, { err: error, edge }, `redirect failed (${edge}): ${(error as Error)?.message ?? String(error)}`);
    return undefined;
  }
}

/** What the caller is told of a failure of ours: nothing of its cause. */
export const INTERNAL_FAILURE_MESSAGE = 'internal error';
