// The wire format between the orchestrating side and a function, both ways, in one place: the request of one attempt
// (encoded by the cloud lifecycle, checked by the remote runtime) and the envelope the function answers with (made by
// the runtime, opened by the orchestrator). Both ends use these; tests round-trip them.
import { TaskError } from "../errors.js";
import type { InvokeResult } from "../backend.js";

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
  /**
   * The run's owner marker in the store. A partial stored after the marker is gone belongs to a run that has ended
   * (cancelled, disposed) and whose prefix is being emptied: the attempt deletes it again so nothing is left behind.
   */
  ownerKey?: string;
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
  | { ok: true; partial?: unknown; partialRef?: string; workerId: string; coldStart: boolean; durationMs: number; bytesRead?: number }
  | { ok: false; error: RemoteError; workerId: string; coldStart: boolean; durationMs: number };

/** The name a remote error has when the job's module failed to load (the scheduler words it as the module's failure). */
export const JOB_LOAD_ERROR = "JobLoadError";

/**
 * Where an attempt's partial goes when it is too large to come back inline, and the run's owner marker: encoded once
 * per run, so that each attempt adds only the number of its result key (no object, no escaping per attempt).
 */
export class StoreKeys {
  private readonly prefixJson: string;
  private readonly tail: string;
  constructor(prefix: string, ownerKey: string, maxInlineBytes: number) {
    this.prefixJson = JSON.stringify(prefix).slice(1, -1);
    this.tail = `,"ownerKey":${JSON.stringify(ownerKey)},"maxInlineBytes":${maxInlineBytes}`;
  }
  /** The request's store fields for the `seq`-th result key of the run (`<prefix>results/<seq>.json`). */
  fields(seq: number): string {
    return `,"resultKey":"${this.prefixJson}results/${seq}.json"${this.tail}`;
  }
}

/**
 * One attempt's request as JSON text, built by hand on the hot path: the task is serialised once by the caller (it
 * needs the size too) and passed here as `taskJson`; or `taskRef` when it went through the store; `storeFields` is
 * `StoreKeys.fields(seq)` with a store. The text always starts with `{"taskIndex":N,` so that `taskIndexOf` can read
 * the index back without parsing the body.
 */
export function encodeTaskRequest(taskIndex: number, attempt: number, taskJson: string | undefined, taskRef?: string, storeFields = ""): string {
  const task = taskJson !== undefined ? `,"task":${taskJson}` : taskRef !== undefined ? `,"taskRef":${JSON.stringify(taskRef)}` : "";
  return `{"taskIndex":${taskIndex},"attempt":${attempt}${task}${storeFields}}`;
}

const INDEX_PREFIX = '{"taskIndex":';

/** The task index of a request `encodeTaskRequest` made (NaN for any other text). */
export function taskIndexOf(body: string): number {
  return body.startsWith(INDEX_PREFIX) ? Number.parseInt(body.slice(INDEX_PREFIX.length), 10) : Number.NaN;
}

const isIndex = (v: unknown, min: number) => typeof v === "number" && Number.isSafeInteger(v) && v >= min;
const isOptionalString = (v: unknown) => v === undefined || typeof v === "string";

/**
 * The request as the remote side got it (the platform parsed the JSON: OpenWhisk's params, Lambda's event), checked
 * before anything runs: what is wrong with it, or undefined when it is a task request.
 */
export function checkTaskRequest(value: unknown): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return `not a superfaas task request (${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value})`;
  const r = value as Record<string, unknown>;
  if (!isIndex(r.taskIndex, 0)) return `not a superfaas task request: taskIndex ${JSON.stringify(r.taskIndex)} is not a whole number >= 0`;
  if (!isIndex(r.attempt, 1)) return `not a superfaas task request: attempt ${JSON.stringify(r.attempt)} is not a whole number >= 1`;
  if (!isOptionalString(r.taskRef) || !isOptionalString(r.resultKey) || !isOptionalString(r.ownerKey)) return "not a superfaas task request: taskRef, resultKey and ownerKey are texts when present";
  if (r.maxInlineBytes !== undefined && !isIndex(r.maxInlineBytes, 0)) return "not a superfaas task request: maxInlineBytes is a whole number when present";
  return undefined;
}

/** A failed attempt's envelope. */
export function failureEnvelope(e: Error, retryable: boolean, workerId: string, coldStart: boolean, durationMs: number): TaskEnvelope {
  return { ok: false, workerId, coldStart, durationMs, error: { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}), retryable } };
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
