// Scheduling tasks on a backend: the window, retries and throttling (scheduler), backup tasks for stragglers
// (speculation), and the straggle injection tests use.
export * from "./scheduler.js";
export * from "./speculation.js";
export * from "./straggle.js";
