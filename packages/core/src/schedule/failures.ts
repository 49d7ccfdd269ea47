// The errors a scheduling pass ends with, made from the facts of the failure: every user-facing text of the scheduler
// (message and hint) is written here, none in its loop.
import { formatSeconds, optionError, SuperfaasError, TaskError, type OptionNames, type OutOfMemory } from "../errors.js";
import { JOB_LOAD_ERROR } from "../remote/wire.js";
import { Abort } from "./attempt.js";

/** The run's error when it was cancelled through its signal after `done` of `total` tasks. */
export function cancelledFailure(done: number, total: number): SuperfaasError {
  return new SuperfaasError("CANCELLED", `run cancelled after ${done} of ${total} tasks`, "nothing was reduced; run again to get a result");
}

/**
 * The run's error for task `index`, given up after `err` (its last attempt's): out of memory, timed out, data out of
 * reach, or failed. `attempts` is the task's count of attempts, named when a retryable failure used up its retries;
 * `throttledTooOften` says the platform refused it for load more often than the run allows. `timeoutMs` is the run's
 * deadline for an attempt.
 */
export function taskFailure(index: number, err: TaskError, attempts: number, throttledTooOften: boolean, timeoutMs: number): SuperfaasError {
  const why = throttledTooOften ? "throttled too often" : err.retryable ? `gave up after ${attempts} attempts` : "";
  const loading = err.origin === "remote" && err.name === JOB_LOAD_ERROR;
  const where = loading
    ? `task ${index} could not load the job module: ${err.message}`
    : err.origin === "remote"
      ? `task ${index} failed in map: ${err.name}: ${err.message}`
      : `task ${index} failed: ${err.message}`;
  const message = why ? `${where} (${why})` : where;
  if (err.outOfMemory) return outOfMemoryFailure(index, err.outOfMemory, err);
  if (err.origin === "timeout") {
    // The limit that fired: the platform's own (a function's time limit) or the run's deadline for an attempt.
    const limit = err.timeLimit;
    const raise = (n: OptionNames) =>
      !limit
        ? `raise ${n.name("timeoutMs")} (now ${n.value("timeoutMs", timeoutMs)}), or `
        : limit.maxSeconds !== undefined && limit.seconds >= limit.maxSeconds
          ? `${limit.setting} is at the platform's most already (${limit.maxSeconds}): `
          : `raise ${limit.setting} (now ${limit.seconds}${limit.maxSeconds !== undefined ? `, at most ${limit.maxSeconds}` : ""}), or `;
    return optionError("TASK_TIMEOUT", (n) => ({ message, hint: `${raise(n)}split the work into more tasks with ${n.name("tasks")}` }), { cause: err });
  }
  if (err.origin === "remote" && err.name === "DataEndpointError") {
    // Where the data is cannot be reached from where tasks run: the run's settings, not the job's code.
    return new SuperfaasError(
      "BAD_INPUT",
      `task ${index} could not read its data: ${err.message}`,
      "give the backend the S3 endpoint as its tasks reach it (AWS_ENDPOINT_URL_S3 or --s3-endpoint; on lambda --function-s3-endpoint when the functions reach it by another address)",
      { cause: err },
    );
  }
  return new SuperfaasError(
    "TASK_FAILED",
    message,
    loading
      ? "fix what the job module throws while it loads (its stack is shown with --verbose)"
      : err.origin === "remote"
        ? "fix the job's map function (the remote stack is in the report and shown with --verbose)"
        : "check the backend's configuration and health, then run again",
    { cause: err },
  );
}

/**
 * The run's error when the platform refused every attempt for load for longer than the throttle timeout: it names the
 * platform's limit that refused them (from the backend's TaskError) and what to change.
 */
export function throttledFailure(backendName: string, quietMs: number, throttleTimeoutMs: number, err: TaskError): SuperfaasError {
  const limit = err.throttleLimit ?? `the limits of ${backendName} on invocations`;
  return optionError(
    "THROTTLED",
    (n) => ({
      message: `${backendName} refused every invocation for load for ${formatSeconds(quietMs)}, longer than ${n.name("throttleTimeoutMs")} ${n.value("throttleTimeoutMs", throttleTimeoutMs)} (last answer: ${err.message})`,
      hint: `raise ${limit}, or lower ${n.name("concurrency")} or ${n.name("tasks")}`,
    }),
    { cause: err },
  );
}

/**
 * The run's error for a task that ran out of memory: it names the task, the memory it had and the setting that raises
 * it. It was not retried: the same memory would run out again.
 */
export function outOfMemoryFailure(index: number, oom: OutOfMemory, cause?: unknown): SuperfaasError {
  const raise = oom.maxMb !== undefined && oom.memoryMb >= oom.maxMb ? undefined : `raise ${oom.setting} above ${oom.memoryMb}${oom.maxMb !== undefined ? ` (at most ${oom.maxMb})` : ""}`;
  return optionError(
    "OUT_OF_MEMORY",
    (n) => ({
      message: `task ${index} ran out of memory: ${oom.what} ${oom.memoryMb} MB (${oom.evidence}); not retried, the same memory would run out again`,
      hint: `${raise ? `${raise}, or ` : `${oom.setting} is at the platform's most already: `}split the work into more, smaller tasks with ${n.name("tasks")}`,
    }),
    { cause },
  );
}

/** A failed attempt's error as a TaskError: the backend's own, a timeout of the run's deadline, or a raw error. */
export function toTaskError(err: unknown, timeoutMs: number): TaskError {
  if (err instanceof TaskError) return err;
  if (err instanceof Abort && err.kind === "timeout") {
    // In seconds, the unit of the CLI's --timeout, so a message never shows one unit and a flag the other.
    return new TaskError(`attempt timed out after ${formatSeconds(timeoutMs)}`, { retryable: true, origin: "timeout" });
  }
  // A backend that lets a raw error escape has hit something unexpected on its side: treat it as transient.
  const message = err instanceof Error ? err.message : String(err);
  return new TaskError(message, { retryable: true, origin: "platform", cause: err });
}
