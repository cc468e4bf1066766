/** The outcome of one health check of a CDN host. */
export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * One host's up/down state from its checks, as HAProxy counts them: down after `fall` failures
 * in a row, up again after `rise` successes in a row. The first check decides at once (at
 * start-up there is no history to weigh, and no player should go to a host that is down).
 * `first` and `record` return the transition they caused, if any.
 */
export class HostHealth {
  up = true;
  private streak = 0;

  constructor(
    private readonly fall: number,
    private readonly rise: number,
  ) {}

  /** The same state and streak, counted with new thresholds (a reload changed fall or rise). */
  withThresholds(fall: number, rise: number): HostHealth {
    const next = new HostHealth(fall, rise);
    next.up = this.up;
    next.streak = this.streak;
    return next;
  }

  first(result: CheckResult): 'went down' | undefined {
    this.up = result.ok;
    return result.ok ? undefined : 'went down';
  }

  record(result: CheckResult): 'went down' | 'came up' | undefined {
    // A streak counts the results that disagree with the current state.
    if (result.ok === this.up) {
      this.streak = 0;
      return undefined;
    }
    this.streak++;
    if (this.up && this.streak >= this.fall) {
      this.up = false;
      this.streak = 0;
      return 'went down';
    }
    if (!this.up && this.streak >= this.rise) {
      this.up = true;
      this.streak = 0;
      return 'came up';
    }
    return undefined;
  }
}
