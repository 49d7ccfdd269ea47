// A sliding minute of attempt starts, for a platform that caps invocations per minute. A sliding minute holds at least
// as many starts as the platform's fixed one, so staying under the cap here never earns a 429 there.

/** The start times of the last minute's attempts, and whether one more fits under a per-minute cap. */
export class StartsPerMinute {
  private readonly starts: number[] = [];
  // The oldest start still inside the minute; the ones before it are dropped in batches, not one shift at a time.
  private head = 0;

  constructor(readonly perMinute: number) {}

  /** An attempt started at `t` (`performance.now()`). */
  record(t: number): void {
    this.starts.push(t);
  }

  /** Whether another attempt may start at `t` without the last minute's starts exceeding the cap. */
  hasRoom(t: number): boolean {
    const starts = this.starts;
    while (this.head < starts.length && starts[this.head]! <= t - 60_000) this.head++;
    if (this.head > 1024 && this.head * 2 > starts.length) {
      starts.splice(0, this.head);
      this.head = 0;
    }
    return starts.length - this.head < this.perMinute;
  }

  /** When the oldest start of the last minute leaves it (only meaningful right after `hasRoom` said no). */
  get nextRoomAt(): number {
    return this.starts[this.head]! + 60_000;
  }
}
