/**
 * How long to wait before replacing a worker that died: no wait for the first death within
 * `windowMs`, then `initialMs`, doubling for every further death, up to `maxMs`. A worker that
 * crashes once is back at once; one that crashes in a loop does not burn a core being restarted.
 */
export class RestartBackoff {
  private deaths: number[] = [];

  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 10_000,
    private readonly windowMs = 60_000,
  ) {}

  /** Records a death at `now` and returns the delay before the replacement starts. */
  nextDelay(now: number): number {
    this.deaths = this.deaths.filter((time) => now - time < this.windowMs);
    this.deaths.push(now);
    const deaths = this.deaths.length;
    return deaths === 1 ? 0 : Math.min(this.initialMs * 2 ** (deaths - 2), this.maxMs);
  }
}
