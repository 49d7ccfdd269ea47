// The mechanics of backup attempts (speculation.ts holds the rules): which running attempts get a backup and when,
// the pairs of attempts racing for one task (the first answer wins, the loser is cancelled and counted as waste), the
// budget and the in-flight cap, the platform's per-minute cap, and the one timer that looks again for stragglers.
import { Abort, type Attempt, type Attempts, type InFlight } from "./attempt.js";
import { StartsPerMinute } from "./rate.js";
import { backupBudget, maxBackupsInFlight, StragglerThreshold, type BackupPolicy, type BackupTotals } from "./speculation.js";
import type { TaskRecord } from "./task-record.js";

/** What the backups need of the scheduling pass they run in. */
export interface BackupHost {
  /** Whether a backup may take a slot at all: the run goes on, no task waits for a slot, the platform does not throttle. */
  mayBackUp(): boolean;
  /** Whether the concurrency window has a free slot. */
  hasSlot(): boolean;
  /** Starts a backup attempt of task `index`. */
  start(index: number): Attempt;
  /** Time since the run's origin, as the records count it. */
  now(): number;
}

/** The backup attempts of one scheduling pass: at most one per task, each beside the task's running attempt. */
export class Backups {
  /** What the report counts (`ScheduleResult.backups`). */
  readonly totals: Omit<BackupTotals, "costUsd"> = { launched: 0, won: 0, wasted: 0, wastedMs: 0 };
  /** Backup attempts in flight (the scheduler lowers it as one settles). */
  inFlight = 0;
  /** The starts of the last minute, when the platform caps invocations per minute (every attempt's start counts). */
  readonly rate: StartsPerMinute | undefined;
  private readonly threshold: StragglerThreshold;
  /** 1 for a task that has had its backup (so it gets no second one, and the backup does not use up a retry). */
  private readonly backedUp: Uint8Array;
  private readonly pairs = new Map<number, { first: Attempt; backup: Attempt }>();
  private readonly maxInFlight: number;
  private readonly budget: number;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * `tasks` is the count of tasks to run in this pass, `records` the records of all the run's tasks (resumed ones
   * included), `flights` the attempts in flight.
   */
  constructor(
    policy: BackupPolicy,
    concurrency: number,
    invocationsPerMinute: number | undefined,
    tasks: number,
    private readonly records: readonly TaskRecord[],
    private readonly flights: Attempts,
    private readonly host: BackupHost,
  ) {
    this.threshold = new StragglerThreshold(policy, tasks);
    this.backedUp = new Uint8Array(records.length);
    this.maxInFlight = maxBackupsInFlight(policy, concurrency);
    this.budget = backupBudget(policy, tasks);
    this.rate = invocationsPerMinute === undefined ? undefined : new StartsPerMinute(invocationsPerMinute);
  }

  /** Whether enough tasks have finished for backups to start. */
  get armed(): boolean {
    return this.threshold.armed;
  }

  /** 1 when task `index` has had a backup attempt, else 0 (its attempts, less this, are the ones that count as retries). */
  of(index: number): number {
    return this.backedUp[index]!;
  }

  /**
   * Starts backups of the attempts that have run past the straggler threshold, within the concurrency bound, the
   * in-flight cap and the budget, and re-arms one timer for the next attempt that will cross it. Queued work goes
   * first (a backup only takes a slot nothing else wants), and nothing starts while the platform throttles: a backup
   * then would only add to the load that slows the run.
   */
  readonly speculate = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const host = this.host;
    if (!host.mayBackUp()) return;
    const limit = this.threshold.thresholdMs;
    const t = performance.now();
    let soonest = Infinity;
    const rate = this.rate;
    if (rate && !rate.hasRoom(t)) {
      // Full for now: look again when the oldest attempt of the last minute leaves it.
      this.timer = setTimeout(this.speculate, Math.max(1, rate.nextRoomAt - t));
      return;
    }
    for (const [c, a] of this.flights.running) {
      if (!host.hasSlot() || this.inFlight >= this.maxInFlight || this.totals.launched >= this.budget) return;
      if (a.backup || a.state !== "running" || this.backedUp[a.index] || this.records[a.index]!.status !== "running") continue;
      if (t - a.t0 >= limit) {
        if (rate && !rate.hasRoom(t)) return;
        this.launch([c, a]);
      } else soonest = Math.min(soonest, a.t0 + limit);
    }
    if (soonest < Infinity) this.timer = setTimeout(this.speculate, Math.max(1, soonest - t));
  };

  private launch(first: Attempt): void {
    const index = first[1].index;
    this.backedUp[index] = 1;
    this.totals.launched++;
    this.inFlight++;
    this.records[index]!.backup = { startedAt: this.host.now(), won: false };
    this.pairs.set(index, { first, backup: this.host.start(index) });
  }

  /**
   * Attempt `a` settled: when its task has two attempts racing, the race ends here and the other one is returned (for
   * the caller to make lose, when `a` won, or to leave running, when `a` failed).
   */
  endRace(a: InFlight): Attempt | undefined {
    const pair = this.pairs.size ? this.pairs.get(a.index) : undefined;
    if (!pair) return undefined;
    this.pairs.delete(a.index);
    return pair.first[1] === a ? pair.backup : pair.first;
  }

  /** The other attempt of a task that was won: cancelled, and what it ran so far counted as waste. */
  lose(loser: Attempt): void {
    const a = loser[1];
    a.wasteMs = performance.now() - a.t0;
    this.totals.wasted++;
    this.totals.wastedMs += a.wasteMs;
    this.flights.abort(loser[0], new Abort("superseded"), a);
    a.state = "lost";
  }

  /** Attempt `a` won its task (the latency tells the threshold what a finished attempt takes). */
  won(a: InFlight, rec: TaskRecord): void {
    if (a.backup) {
      this.totals.won++;
      rec.backup!.won = true;
    }
    this.threshold.add(performance.now() - a.t0);
  }

  /**
   * One of two racing attempts failed while the other runs on. A backup refused for load never ran: it is as if never
   * started (the task may get one once the throttling is over). A backup that failed otherwise is waste.
   */
  raceFailed(a: InFlight, rec: TaskRecord, throttled: boolean, billedMs: number | undefined): void {
    if (!a.backup) return;
    if (throttled) {
      this.totals.launched--;
      this.backedUp[a.index] = 0;
      delete rec.backup;
    } else {
      this.totals.wasted++;
      this.totals.wastedMs += billedMs ?? performance.now() - a.t0;
    }
  }

  /** A lost attempt answered late with its billed time: that replaces the time counted as wasted for it. */
  billedLate(a: InFlight, billedMs: number): void {
    if (a.state !== "lost") return;
    this.totals.wastedMs += billedMs - (a.wasteMs ?? 0);
    a.wasteMs = billedMs;
  }

  /** The pass ended: no more looks for stragglers. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
