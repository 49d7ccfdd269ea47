// The remote half of superfaas: bundled into every function next to the job. Keep it small and free of
// anything that only the orchestrating side needs (no esbuild, no file system).
import { TaskError } from "../errors.js";
import { findNonJson } from "../job/json.js";
import type { Job } from "../job/job.js";
import type { InvokeResult } from "../backend.js";
import { utf8Bytes, type ObjectStore } from "../data/store.js";
import { readRange, s3AccessFromEnv, type S3Access } from "../data/object-reader.js";

import { checkTaskRequest, failureEnvelope, JOB_LOAD_ERROR, openEnvelope, type TaskEnvelope, type TaskPayload } from "./wire.js";

export { findJob } from "../job/job.js";
export { openEnvelope, type RemoteError, type TaskEnvelope, type TaskPayload } from "./wire.js";

let attemptsInThisWorker = 0;

/** The failure callbacks of the attempts running in this process or worker thread right now. */
const running = new Set<(err: unknown) => void>();
let guarded = false;

/**
 * Catches errors that escape `map`'s own promise (a throw in a timer or callback, a rejection nobody awaits) and fails
 * the attempts running at that moment with them: without this, the process (or worker thread) dies and the caller
 * learns only that it exited (AWS's runtime client 4.x, for one, registers no such handler). An error raised while no
 * attempt runs is printed and ends the process as Node.js would.
 */
function guardProcess(): void {
  if (guarded) return;
  guarded = true;
  const onError = (err: unknown) => {
    if (running.size === 0) {
      process.stderr.write(`superfaas: uncaught error outside any task: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    }
    for (const fail of running) fail(err);
  };
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(typeof err === "string" ? err : (JSON.stringify(err) ?? String(err))));

const failure = failureEnvelope;

/**
 * Runs the job's `map` for one attempt and wraps the outcome, so errors cross the wire with message and stack.
 * `job` may be a loader (`loadBundledJob`): a module that fails to load fails the attempt, for good, with its error.
 * With a store, a task sent by reference is fetched first and a partial over the inline limit is stored.
 */
export async function runTask(
  job: Job | (() => Promise<Job>),
  payload: TaskPayload,
  workerId: string,
  store?: ObjectStore,
  /** How `ctx.read` reaches S3 (the backend's settings); the AWS variables of this process when absent. */
  s3?: S3Access,
): Promise<TaskEnvelope> {
  const coldStart = attemptsInThisWorker++ === 0;
  const t0 = performance.now();
  const done = () => performance.now() - t0;
  // Someone else's event (a test invoke from the console, another tool): one clear error, not a crash inside map.
  const bad = checkTaskRequest(payload);
  if (bad) return failure(new Error(`${bad}: this function runs superfaas tasks; invoke it through superfaas`), false, workerId, coldStart, done());
  let loaded: Job;
  try {
    loaded = typeof job === "function" ? await job() : job;
  } catch (err) {
    const e = asError(err);
    // The scheduler words a JobLoadError as the module's failure, not map's.
    const load = new Error(`${e.name}: ${e.message}`);
    load.name = JOB_LOAD_ERROR;
    if (e.stack) load.stack = e.stack;
    return failure(load, false, workerId, coldStart, done());
  }
  guardProcess();
  let fail!: (err: unknown) => void;
  const escaped = new Promise<never>((_, reject) => {
    fail = reject;
  });
  // Settled only through the race below; an escape while the task is still fetching its input must not count as
  // another unhandled rejection.
  escaped.catch(() => {});
  running.add(fail);
  // What this attempt's ctx.read fetched: one counter, sent back with the partial.
  let bytesRead = 0;
  const countRead = (n: number) => {
    bytesRead += n;
  };
  try {
    let task = payload.task;
    if (payload.taskRef !== undefined) {
      if (!store) throw new Error(`task ${payload.taskIndex} came by reference but this function has no object store configured`);
      task = JSON.parse(await store.get(payload.taskRef));
    }
    const partial = await Promise.race([loaded.map(task, { taskIndex: payload.taskIndex, attempt: payload.attempt, workerId, read: (range) => readRange(range, (s3 ??= s3AccessFromEnv()), {}, countRead) }), escaped]);
    const problem = findNonJson(partial);
    if (problem) {
      const e = new Error(`the partial of task ${payload.taskIndex} is not JSON-serializable: ${problem}`);
      e.name = "NotJsonError";
      delete e.stack;
      return failure(e, false, workerId, coldStart, done());
    }
    if (payload.maxInlineBytes !== undefined && payload.resultKey !== undefined && store) {
      const text = JSON.stringify(partial);
      if (utf8Bytes(text) > payload.maxInlineBytes) {
        await store.put(payload.resultKey, text);
        if (payload.ownerKey !== undefined && !(await store.has(payload.ownerKey))) {
          await store.delete(payload.resultKey);
          const e = new Error(`run ended before task ${payload.taskIndex} finished: its partial was not kept`);
          e.name = "RunEndedError";
          delete e.stack;
          return failure(e, false, workerId, coldStart, done());
        }
        return { ok: true, partialRef: payload.resultKey, workerId, coldStart, durationMs: done(), ...(bytesRead ? { bytesRead } : {}) };
      }
    }
    return { ok: true, partial, workerId, coldStart, durationMs: done(), ...(bytesRead ? { bytesRead } : {}) };
  } catch (err) {
    const e = asError(err);
    const retryable = (e as { retryable?: unknown }).retryable === true || loaded.retryUserErrors === true;
    return failure(e, retryable, workerId, coldStart, done());
  } finally {
    running.delete(fail);
  }
}

/** Like `openEnvelope`, and fetches a partial that came back by reference from the store. */
export async function openEnvelopeWithStore(envelope: unknown, store: ObjectStore | undefined): Promise<InvokeResult> {
  const result = openEnvelope(envelope) as InvokeResult & { partialRef?: string };
  if (result.partialRef === undefined) return result;
  if (!store) throw new TaskError("the function returned a partial by reference but no object store is configured", { retryable: false, origin: "platform" });
  const { partialRef, ...rest } = result;
  let text: string;
  try {
    text = await store.get(partialRef);
  } catch (err) {
    throw new TaskError(`could not fetch the partial from the object store (${partialRef}): ${(err as Error).message}`, { retryable: true, origin: "platform", cause: err });
  }
  return { ...rest, partial: JSON.parse(text) };
}
