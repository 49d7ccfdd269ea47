// The tasks waiting for a slot: the ones not started yet, in task order (on a resume, only those without a partial),
// and ahead of them the retries whose backoff is over.

/** The order in which a scheduling pass starts its tasks, and the timers of its retries in backoff. */
export class TaskQueue {
  /** Tasks to run in this pass (those `completed` already are not). */
  readonly fresh: number;
  // On a resume, the indices still to run; otherwise every index in order, counted by `nextFresh` alone.
  private readonly indices: number[] | undefined;
  private nextFresh = 0;
  private readonly ready: number[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(total: number, completed: ReadonlyMap<number, unknown> | undefined) {
    if (completed?.size) {
      this.indices = [];
      for (let i = 0; i < total; i++) if (!completed.has(i)) this.indices.push(i);
    }
    this.fresh = this.indices ? this.indices.length : total;
  }

  /** The next task to start, or -1 when none waits. */
  next(): number {
    if (this.ready.length) return this.ready.shift()!;
    if (this.nextFresh >= this.fresh) return -1;
    return this.indices ? this.indices[this.nextFresh++]! : this.nextFresh++;
  }

  /** Whether a task waits for a slot (a fresh one, or a retry whose backoff is over). */
  get waiting(): boolean {
    return this.ready.length > 0 || this.nextFresh < this.fresh;
  }

  /** Queues task `index` again after `delayMs`, and calls `then` once it waits. */
  retryAfter(index: number, delayMs: number, then: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.ready.push(index);
      then();
    }, delayMs);
    this.timers.add(t);
  }

  /** Drops the retries still in backoff (the run ended). */
  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
