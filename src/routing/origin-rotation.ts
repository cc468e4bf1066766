/**
 * Decides which valid call goes to the origin: every `originEvery`th (the 10th, 20th, ...),
 * never when it is 0, always when it is 1. Each process has its own rotation; with W processes
 * the total number of origin answers after N calls stays within W of N / originEvery.
 */
export class OriginRotation {
  private callsSinceOrigin = 0;

  constructor(readonly originEvery: number) {
    if (!Number.isSafeInteger(originEvery) || originEvery < 0) {
      throw new RangeError(`originEvery must be a whole number >= 0, got ${originEvery}`);
    }
  }

  /** The same rotation with another period: the calls counted since the last origin answer carry over. */
  withEvery(originEvery: number): OriginRotation {
    const next = new OriginRotation(originEvery);
    next.callsSinceOrigin = this.callsSinceOrigin;
    return next;
  }

  /** Counts one valid call and says whether it is the one that goes to the origin. */
  nextGoesToOrigin(): boolean {
    if (this.originEvery === 0) return false;
    this.callsSinceOrigin++;
    if (this.callsSinceOrigin < this.originEvery) return false;
    this.callsSinceOrigin = 0;
    return true;
  }
}
