// The function the local backend's worker threads run: bundled with the job by `bundleJob` (see LocalBackend.prepare)
// and loaded by piscina, which calls the default export once per attempt.
import { threadId } from "node:worker_threads";
import { loadBundledJob, runTask, type TaskEnvelope, type TaskPayload } from "@superfaas/core/entry";

const workerId = `local:${process.pid}:${threadId}`;

/** Runs one attempt; the job module is loaded by the first one, so a module that throws fails tasks, not the pool. */
export default function runAttempt(payload: TaskPayload): Promise<TaskEnvelope> {
  return runTask(loadBundledJob, payload, workerId);
}
