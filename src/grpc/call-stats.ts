import { status } from '@grpc/grpc-js';

/** Upper bounds (seconds) of the handling-time histogram buckets, as go-grpc-prometheus uses. */
export const HANDLING_SECONDS_BUCKETS = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/**
 * What the Redirect handler counts per call: plain numbers, so the hot path does no label
 * hashing or allocation. Metrics read them when scraped.
 */
export class CallStats {
  started = 0;
  /** Calls finished, by gRPC status code. */
  readonly handled = new Float64Array(17);
  /** Non-cumulative counts per bucket of HANDLING_SECONDS_BUCKETS, plus one for +Inf. */
  readonly handlingBuckets = new Float64Array(HANDLING_SECONDS_BUCKETS.length + 1);
  handlingSecondsSum = 0;

  /** Records a finished call that took `seconds` and ended with `code`. */
  finish(code: status, seconds: number): void {
    this.handled[code] = (this.handled[code] as number) + 1;
    this.handlingSecondsSum += seconds;
    let bucket = 0;
    while (bucket < HANDLING_SECONDS_BUCKETS.length && seconds > (HANDLING_SECONDS_BUCKETS[bucket] as number)) bucket++;
    this.handlingBuckets[bucket] = (this.handlingBuckets[bucket] as number) + 1;
  }
}
