// The concurrency window: how many attempts the scheduler lets run at once. It starts at the run's concurrency,
// halves on every throttled attempt (multiplicative decrease) and grows back by about one slot per window's worth of
// successes (additive increase), so throttling slows a run down instead of failing it.

/** An additive-increase/multiplicative-decrease bound on the attempts in flight, never below 1 nor above `max`. */
export class ConcurrencyWindow {
  /** The window's size; fractional while it grows back, so `slots` is what bounds the attempts. */
  size: number;

  constructor(readonly max: number) {
    this.size = Math.max(1, max);
  }

  /** Attempts that may be in flight now. */
  get slots(): number {
    return Math.floor(this.size);
  }

  /** Whether throttling has shrunk the window below the run's concurrency (and it has not grown back yet). */
  get shrunk(): boolean {
    return this.size < this.max;
  }

  /** An attempt succeeded: grow by 1/size, so a full window of successes adds about one slot. */
  grow(): void {
    if (this.size < this.max) this.size = Math.min(this.max, this.size + 1 / Math.max(1, this.size));
  }

  /** An attempt was refused for load: halve, down to one attempt at a time. */
  shrink(): void {
    this.size = Math.max(1, this.size / 2);
  }
}
