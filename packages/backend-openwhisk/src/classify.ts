// What the platform's answers mean: an activation record, a refused request or no answer at all, as a TaskError that
// tells the scheduler whether to retry, slow down (throttled) or stop. Status and structure decide first, text last.
import { STATUS_CODES } from "node:http";
import { describeAnswer, outOfMemoryError, TaskError } from "@superfaas/core";
import type { OpenWhiskConfig } from "./config.js";
import { quote } from "./control.js";
import { MB, type Deployment } from "./discover.js";

/** An activation record, as far as the backend reads it. */
export interface Activation {
  activationId: string;
  duration?: number;
  response?: { status?: string; success?: boolean; result?: Record<string, unknown> };
  annotations?: { key: string; value: unknown }[];
}

/** What classification needs to know: the settings and the deployment (for the limits an error line names). */
export interface Where {
  readonly config: OpenWhiskConfig;
  readonly deployment: Deployment | undefined;
}

/**
 * What the invoker records (a developer error) when the action's container was killed for exceeding its memory:
 * Messages.memoryExhausted, apache/openwhisk common/scala/.../http/ErrorResponse.scala, set in ActivationResult.scala.
 */
const MEMORY_EXHAUSTED = "The action exhausted its memory and was aborted.";

/** An HTTP answer that is not an activation record: what `classify` reads. */
export class Refused {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** A request that never got an answer. */
export class Unreachable {
  constructor(
    readonly url: string,
    readonly cause: unknown,
  ) {}
}

export const isRecord = (v: unknown): v is Activation =>
  typeof v === "object" && v !== null && typeof (v as { activationId?: unknown }).activationId === "string" && typeof (v as { response?: unknown }).response === "object";

/** What the controller answers (HTTP 202) for an accepted activation whose result is not there yet. */
export const isPending = (v: unknown): v is { activationId: string } =>
  typeof v === "object" && v !== null && typeof (v as { activationId?: unknown }).activationId === "string" && !("response" in v);

export function classify(error: unknown, at: Where): TaskError | "missing" {
  if (error instanceof TaskError) return error;
  if (error instanceof Unreachable) {
    const e = error.cause as Error & { code?: string };
    return new TaskError(`openwhisk system error: cannot reach ${error.url}: ${e?.message || e?.code || String(e)}`, { retryable: true, origin: "platform", cause: e });
  }
  if (error instanceof Refused) return refused(error.status, error.body, at);
  if (isRecord(error)) return failedActivation(error, at);
  return new TaskError(`openwhisk: ${(error as Error)?.message ?? String(error)}`, { retryable: true, origin: "platform", cause: error });
}

/** A refused request: the controller's JSON `{error}` when there is one, else the status's own words. */
function refused(status: number, body: unknown, at: Where): TaskError | "missing" {
  const said = body && typeof body === "object" ? (body as { error?: unknown }).error : undefined;
  if (status < 300 && typeof body === "string") {
    return new TaskError(`openwhisk: ${at.config.apihost} answered an invocation with ${describeAnswer({ status, body })}, not the controller's JSON: it is not an OpenWhisk API host`, {
      retryable: false,
      origin: "platform",
    });
  }
  const text = quote(typeof said === "string" ? said : status >= 400 ? (STATUS_CODES[status] ?? "error") : `unexpected answer ${JSON.stringify(body)?.slice(0, 200)}`);
  // 429 is throttling whatever it says (the legacy controller counts, the FPC controller says "Too many requests").
  if (status === 429) return throttled(text, /minute/i.test(text), at);
  if (status === 404) return "missing";
  // 408 and 504 come from proxies in front of the controller that gave up waiting: the activation may have run.
  if (status >= 500 || status < 400 || status === 408) return new TaskError(`openwhisk system error (HTTP ${status}): ${text}`, { retryable: true, origin: "platform" });
  if (status === 413) return new TaskError(`openwhisk refused the payload as too large (HTTP 413): ${text}`, { retryable: false, origin: "platform" });
  return new TaskError(`openwhisk refused the invocation (HTTP ${status}): ${text}`, { retryable: false, origin: "platform" });
}

/** A throttled invocation: retried after the limit frees up, until core's throttle bound names `throttleLimit`. */
function throttled(text: string, perMinute: boolean, at: Where): TaskError {
  const l = at.deployment?.info?.limits;
  // The limit core names when nothing but throttling outlasts --throttle-timeout (the operator raises it).
  const throttleLimit = perMinute
    ? `the namespace's ${l?.actions_per_minute ?? ""} invocations a minute (actions_per_minute; WHISK_ACTIONS_INVOKES_PER_MINUTE on OpenShift; ask the operator)`
    : `the namespace's ${l?.concurrent_actions ?? ""} activations in flight (concurrent_actions; WHISK_ACTIONS_INVOKES_CONCURRENT on OpenShift; ask the operator)`;
  // The per-minute limit frees up slowly: give it a second; concurrency frees up as activations end.
  return new TaskError(`openwhisk throttled the invocation: ${text}`, { retryable: true, origin: "platform", throttled: true, retryAfterMs: perMinute ? 1_000 : 0, throttleLimit: throttleLimit.replace("  ", " ") });
}

function failedActivation(a: Activation, at: Where): TaskError {
  const status = a.response?.status;
  const result = a.response?.result;
  const error = result?.error;
  const full = typeof error === "string" ? error : typeof (error as { message?: unknown })?.message === "string" ? (error as { message: string }).message : JSON.stringify(result ?? {});
  // A refused result quotes up to 1 MB of the response: cut it to a readable length.
  const message = quote(full);
  if ((status === "action developer error" || status === "whisk internal error") && neverRan(a) && /^Too many concurrent requests/.test(full)) {
    // The FPC scheduler's queue throttles by recording the activation as failed without running it (MemoryQueue's
    // fallback activation: duration 0, no waitTime): throttling, as a 429 is, not a failed attempt.
    return throttled(message, false, at);
  }
  if (status === "application error") {
    // An application error without our envelope did not come from map: the platform refused the result (over 1 MB
    // without a bucket) or the action's own code failed outside runTask. Both happen again on a retry.
    const tooLong = /exceeded the allowed length/.test(full);
    return new TaskError(`openwhisk activation ${a.activationId} failed: ${message}${tooLong && !at.config.s3 ? " — pass --bucket so that partials over 1 MB go through the object store" : ""}`, {
      retryable: false,
      origin: "platform",
    });
  }
  if (/System not ready/.test(full)) {
    // The Node.js proxy refuses a second simultaneous activation unless the invokers allow concurrency.
    return new TaskError(
      `openwhisk activation ${a.activationId} was refused by its container ("${message}"): the deployment accepts --action-concurrency ${at.config.actionConcurrency}, but its invokers do not run concurrent activations (they need __OW_ALLOW_CONCURRENT=true); use --action-concurrency 1`,
      { retryable: false, origin: "platform" },
    );
  }
  if (status === "action developer error" && full === MEMORY_EXHAUSTED) {
    // The invoker found the container killed by its memory limit (Docker's OOMKilled): the same memory would run out again.
    const maxBytes = at.deployment?.info?.limits?.max_action_memory;
    return outOfMemoryError({
      memoryMb: at.deployment?.memory ?? at.config.memory,
      what: "action memory",
      setting: "--memory",
      ...(maxBytes !== undefined ? { maxMb: Math.floor(maxBytes / MB) } : {}),
      evidence: `activation ${a.activationId}: "${full}"`,
    });
  }
  if (status === "action developer error" && /Initialization has failed|Cannot find module|SyntaxError/.test(message)) {
    return new TaskError(`openwhisk could not start the action: ${message}`, { retryable: false, origin: "platform" });
  }
  // Container crashes, action timeouts and whisk internal errors: the platform failed this attempt, not the job.
  return new TaskError(`openwhisk activation ${a.activationId} ended with "${status ?? "no status"}": ${message}`, { retryable: true, origin: "platform" });
}

/**
 * An activation no invoker ran: the scheduler's own record (duration 0, no waitTime annotation, which every activation
 * that reached an invoker has).
 */
function neverRan(a: Activation): boolean {
  return (a.duration ?? 0) === 0 && !a.annotations?.some((n) => n.key === "waitTime");
}
