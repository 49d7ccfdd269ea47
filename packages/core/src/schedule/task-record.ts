// What the scheduler keeps of each task: the record the run's report lists and the auto-task probe measures.
/** One task's life in a run. Times are milliseconds since the run started. */
export interface TaskRecord {
  index: number;
  queuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  attempts: number;
  status: "pending" | "running" | "succeeded" | "failed" | "cancelled";
  workerId?: string;
  coldStart?: boolean;
  durationMs?: number;
  billedMs?: number;
  initMs?: number;
  waitMs?: number;
  platformId?: string;
  /** Failures of earlier attempts (and of the last one when the task failed). */
  errors?: { attempt: number; at: number; message: string; retryable: boolean }[];
  /** The backup attempt started beside a straggling one: when, and whether its result was the one used. */
  backup?: { startedAt: number; won: boolean };
}
