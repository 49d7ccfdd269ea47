// A run from start to end: run(), its report, its journal (resume, liveness, the run catalog) and the user folders.
export * from "./report.js";
export * from "./run.js";
export * from "./journal/index.js";
