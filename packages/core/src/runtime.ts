// The remote half of superfaas: bundled into every function next to the job. Keep it small and free of
// anything that only the orchestrating side needs (no esbuild, no file system).
import { TaskError } from "./errors.js";
import { findNonJson } from "./json.js";
import type { Job } from "./job.js";
import type { InvokeResult } from "./backend.js";
import { utf8Bytes, type ObjectStore } from "./store.js";

export { findJob } from "./job.js";

/** What a backend sends to the remote side for one attempt. */
export interface TaskPayload {
  /** The task itself, or absent when it travels through the object store under `taskRef`. */
  task?: unknown;
  taskRef?: string;
  taskIndex: number;
  attempt: number;
  /** Where to put the partial if it is over `maxInlineBytes` (cloud backends only). */
  resultKey?: string;
  maxInlineBytes?: number;
}

/** An error as it crosses the wire. */
export interface RemoteError {
  name: string;
  message: string;
  stack?: string;
  retryable: boolean;
}

/** The remote side's answer for one attempt; always a JSON object, whatever happened. */
export type TaskEnvelope =
  | { ok: true; partial?: unknown; partialRef?: string; workerId: string; coldStart: boolean; durationMs: number }
  | { ok: false; error: RemoteError; workerId: string; coldStart: boolean; durationMs: number };

let attemptsInThisWorker = 0;

/**
 * Runs the job's `map` for one attempt and wraps the outcome, so errors cross the wire with message and stack.
 * With a store, a task sent by reference is fetched first and a partial over the inline limit is stored.
 */
export async function runTask(job: Job, payload: TaskPayload, workerId: string, store?: ObjectStore): Promise<TaskEnvelope> {
  const coldStart = attemptsInThisWorker++ === 0;
  const t0 = performance.now();
  const done = () => performance.now() - t0;
  try {
    let task = payload.task;
    if (payload.taskRef !== undefined) {
      if (!store) throw new Error(`task ${payload.taskIndex} came by reference but this function has no object store configured`);
      task = JSON.parse(await store.get(payload.taskRef));
    }
    const partial = await job.map(task, { taskIndex: payload.taskIndex, attempt: payload.attempt, workerId });
    const problem = findNonJson(partial);
    if (problem) {
      return {
        ok: false,
        workerId,
        coldStart,
        durationMs: done(),
        error: {
          name: "NotJsonError",
          message: `the partial of task ${payload.taskIndex} is not JSON-serializable: ${problem}`,
          retryable: false,
        },
      };
    }
    if (payload.maxInlineBytes !== undefined && payload.resultKey !== undefined && store) {
      const text = JSON.stringify(partial);
      if (utf8Bytes(text) > payload.maxInlineBytes) {
        await store.put(payload.resultKey, text);
        return { ok: true, partialRef: payload.resultKey, workerId, coldStart, durationMs: done() };
      }
    }
    return { ok: true, partial, workerId, coldStart, durationMs: done() };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(typeof err === "string" ? err : JSON.stringify(err));
    const retryable = (e as { retryable?: unknown }).retryable === true || job.retryUserErrors === true;
    return {
      ok: false,
      workerId,
      coldStart,
      durationMs: done(),
      error: { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}), retryable },
    };
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

/** Turns an envelope back into a result, or throws the remote error as a `TaskError` (orchestrating side). */
export function openEnvelope(envelope: unknown): InvokeResult {
  const env = envelope as Partial<TaskEnvelope> | null;
  if (!env || typeof env !== "object" || typeof env.ok !== "boolean") {
    throw new TaskError(`the function returned an unexpected answer: ${JSON.stringify(envelope)?.slice(0, 200)}`, {
      retryable: true,
      origin: "platform",
    });
  }
  if (env.ok === false) {
    const e = env.error!;
    throw new TaskError(e.message, {
      retryable: e.retryable,
      origin: "remote",
      remoteName: e.name,
      ...(e.stack ? { remoteStack: e.stack } : {}),
    });
  }
  // The envelope already has the shape of an InvokeResult (partial, workerId, coldStart, durationMs): no copy.
  return env as InvokeResult;
}
