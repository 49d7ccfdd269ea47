// Backup tasks (speculative attempts) for stragglers: when to start a second attempt of a slow task. The scheduler
// owns the attempts; this module only decides, so the policy can be read and tested on its own.
import { SuperfaasError } from "../errors.js";

/** When the scheduler starts a backup attempt of a task that runs much longer than its peers. */
export interface BackupPolicy {
  /** Fraction of the tasks that must have finished before any backup starts (0..1, default 0.75). */
  after: number;
  /** A running attempt gets a backup once it has run this multiple of the median finished attempt (default 2). */
  multiple: number;
  /** Most backups in flight at once (default: a tenth of the concurrency, at least 1). */
  maxInFlight?: number;
  /** Most backups over the whole run, as a fraction of the tasks (default 0.1, at least 1 backup). */
  budget: number;
  /** No backup for an attempt younger than this, whatever the median (default 20 ms: timer noise, not a straggler). */
  minMs: number;
}

/** The policy `backupTasks: true` (and a job marked `deterministic`) runs with. */
export const DEFAULT_BACKUP_POLICY: Readonly<BackupPolicy> = Object.freeze({ after: 0.75, multiple: 2, budget: 0.1, minMs: 20 });

/** What the run options accept: on, off, or a policy with some fields changed. */
export type BackupTasksOption = boolean | Partial<BackupPolicy>;

/**
 * The policy a run uses, or undefined for none: an explicit option wins; otherwise backups are on exactly when the
 * job declares `deterministic` (a second attempt then computes the same partial, so it does not matter which wins).
 */
export function resolveBackupPolicy(option: BackupTasksOption | undefined, deterministic: boolean | undefined): BackupPolicy | undefined {
  const on = option === undefined ? deterministic === true : option !== false;
  if (!on) return undefined;
  const policy = { ...DEFAULT_BACKUP_POLICY, ...(typeof option === "object" ? option : {}) };
  const bad = (name: string, value: unknown, want: string) =>
    new SuperfaasError("BAD_INPUT", `invalid backupTasks.${name}: ${String(value)}`, `backupTasks.${name} takes ${want}`);
  if (!(policy.after >= 0 && policy.after <= 1)) throw bad("after", policy.after, "a fraction from 0 to 1, e.g. 0.75");
  if (!(policy.multiple >= 1 && Number.isFinite(policy.multiple))) throw bad("multiple", policy.multiple, "a number >= 1, e.g. 2");
  if (!(policy.budget > 0 && Number.isFinite(policy.budget))) throw bad("budget", policy.budget, "a fraction of the tasks above 0, e.g. 0.1");
  if (!(policy.minMs >= 0 && Number.isFinite(policy.minMs))) throw bad("minMs", policy.minMs, "milliseconds >= 0");
  if (policy.maxInFlight !== undefined && !(Number.isSafeInteger(policy.maxInFlight) && policy.maxInFlight >= 1)) throw bad("maxInFlight", policy.maxInFlight, "a whole number >= 1");
  return policy;
}

/** What the run counts about backups (the report's `totals.backups`). */
export interface BackupTotals {
  /** Backup attempts started. */
  launched: number;
  /** Tasks whose result came from their backup. */
  won: number;
  /** Attempts whose work was thrown away: the loser of each race (a backup or the original it overtook). */
  wasted: number;
  /** Time the wasted attempts ran: the platform's billed time when it answered, else until they were cancelled. */
  wastedMs: number;
  /** Estimated cost in US dollars of the wasted attempts, for backends that price runs. */
  costUsd?: number;
}

/**
 * Tracks the latency of finished attempts and answers "how long before an attempt is a straggler". The median is
 * recomputed only when the finished count has grown by a twentieth, so a run of many small tasks pays a few sorts,
 * not one per task.
 */
export class StragglerThreshold {
  private readonly latencies: number[] = [];
  private median = 0;
  private sortedAt = 0;

  constructor(
    private readonly policy: BackupPolicy,
    private readonly total: number,
  ) {}

  /** Records the latency of an attempt that won its task. */
  add(latencyMs: number): void {
    this.latencies.push(latencyMs);
  }

  /** Whether enough tasks have finished for backups to start. */
  get armed(): boolean {
    return this.latencies.length > 0 && this.latencies.length >= Math.ceil(this.policy.after * this.total);
  }

  /** The age at which a running attempt gets a backup (Infinity while not armed). */
  get thresholdMs(): number {
    if (!this.armed) return Infinity;
    const n = this.latencies.length;
    if (n !== this.sortedAt && (this.sortedAt === 0 || n >= this.sortedAt * 1.05 || n === this.total)) {
      const sorted = [...this.latencies].sort((a, b) => a - b);
      this.median = sorted[(n - 1) >> 1]!;
      this.sortedAt = n;
    }
    return Math.max(this.policy.minMs, this.policy.multiple * this.median);
  }
}

/** Most backups in flight at once under `policy` for a run of this concurrency. */
export function maxBackupsInFlight(policy: BackupPolicy, concurrency: number): number {
  return policy.maxInFlight ?? Math.max(1, Math.ceil(concurrency / 10));
}

/** Most backups over a run of `tasks` tasks. */
export function backupBudget(policy: BackupPolicy, tasks: number): number {
  return Math.max(1, Math.ceil(policy.budget * tasks));
}
