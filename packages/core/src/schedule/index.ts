// Scheduling tasks on a backend: the window, retries and throttling (scheduler), backup tasks for stragglers
// (speculation), the straggle injection tests use, and the record kept of each task.
export * from "./scheduler.js";
export * from "./speculation.js";
export * from "./straggle.js";
export * from "./task-record.js";
