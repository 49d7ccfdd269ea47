// Planning a run before it starts: platform limits and the run plan, the auto task count, and the cost sweep.
export * from "./limits.js";
export * from "./cost-sweep.js";
export * from "./auto-tasks.js";
