// Scheduling tasks on a backend: the pass's control flow (scheduler), backup tasks for stragglers (speculation), the
// straggle injection tests use, and the record kept of each task. The scheduler's mechanics live in modules of their
// own that are not exported: window (the concurrency window), rate (the per-minute cap), backoff (retry delays and
// rules), queue (the order tasks start in), attempt (an attempt's state and the attempts in flight), backups (the
// races of backup attempts), tally (the run's counts) and failures (every error text the scheduler ends a run with).
export * from "./scheduler.js";
export * from "./speculation.js";
export * from "./straggle.js";
export * from "./task-record.js";
