// @superfaas/core: the backend-neutral half of superfaas. One folder per concern, each with an index.ts as its face:
// job/ (the job model), plan/ (limits, task counts), schedule/ (the scheduler), run/ (a run, its journal and report),
// data/ (object listing and reading), remote/ (what runs in a function, and bundling), cloud/ (the function lifecycle
// cloud adapters plug into), conformance/ (the suite every backend passes; its own subpath). errors.ts and backend.ts
// are the two contracts every folder shares: the error model and the backend seam.
export * from "./errors.js";
export * from "./backend.js";
export * from "./job/index.js";
export * from "./plan/index.js";
export * from "./schedule/index.js";
export * from "./run/index.js";
export * from "./data/index.js";
export * from "./remote/index.js";
export * from "./cloud/index.js";
