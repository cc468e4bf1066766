import { status } from '@grpc/grpc-js';

/** Upper bounds (seconds) of the handling-time histogram buckets, as go-grpc-prometheus uses. */
export const HANDLING_SECONDS_BUCKETS = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/**
 * What the Redirect edges count per call: plain numbers, so the hot path does no label hashing
 * or allocation. Metrics read them when scraped. A call is timed from the moment its stream
 * arrives (its headers were received) to its end, so that what a caller waits for in the worker
 * (a stall of its event loop, a mark-compact) shows, not only the microseconds of routing.
 */
export class CallStats {
  started = 0;
  /** Calls finished, by gRPC status code. */
  readonly handled = new Float64Array(17);
  /** Non-cumulative counts per bucket of HANDLING_SECONDS_BUCKETS, plus one for +Inf. */
  readonly handlingBuckets = new Float64Array(HANDLING_SECONDS_BUCKETS.length + 1);
  handlingSecondsSum = 0;

  /** A call ended with `code`. */
  count(code: status): void {
    this.handled[code] = (this.handled[code] as number) + 1;
  }

  /** A call took `seconds` from its stream's arrival to its end. */
  observe(seconds: number): void {
    this.handlingSecondsSum += seconds;
    let bucket = 0;
    while (bucket < HANDLING_SECONDS_BUCKETS.length && seconds > (HANDLING_SECONDS_BUCKETS[bucket] as number)) bucket++;
    this.handlingBuckets[bucket] = (this.handlingBuckets[bucket] as number) + 1;
  }
}
