// The job model: defineJob and the job's shape, typed params, partition helpers (ranges, counts), and JSON checks.
export * from "./json.js";
export * from "./params.js";
export * from "./job.js";
export * from "./partition.js";
