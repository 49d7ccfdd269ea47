// Imported only by function entries (the modules a backend hands to `bundleJob`), never by the orchestrating side:
// the "superfaas:job" specifier below exists only inside a bundle, where `bundleJob` binds it to the job module.
import { findJob, type Job } from "../job/job.js";

declare const __SUPERFAAS_JOB_NAME__: string;

let loading: Promise<Job> | undefined;

/**
 * The job this function was bundled with, loaded on first use. A module that throws while it loads rejects here
 * (every time), so the entry can answer each task with that error instead of dying before it can say anything.
 */
export function loadBundledJob(): Promise<Job> {
  // `as string` keeps tsc from looking for the module; esbuild still sees the literal and bundles the job.
  loading ??= import("superfaas:job" as string).then((mod: Record<string, unknown>) => findJob(mod, __SUPERFAAS_JOB_NAME__));
  return loading;
}

export { runTask, type TaskEnvelope, type TaskPayload } from "./runtime.js";
export { s3AccessFromEnv, type S3Access } from "../data/object-reader.js";
