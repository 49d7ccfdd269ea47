// The job's own steps run on this side (partition, reduce, metrics): what they throw is the job's error.
import { SuperfaasError } from "../errors.js";

/** Runs one of the job's own steps on this side; what it throws is the job's error (JOB_FAILED), not superfaas's. */
export function jobStep<R>(jobName: string, step: "partition" | "reduce" | "metrics", fn: () => R): R {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SuperfaasError) throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    throw new SuperfaasError("JOB_FAILED", `job ${jobName}: ${step}() threw ${e.name}: ${e.message}`, `fix the job's ${step} function (the stack is shown with --verbose)`, { cause: err });
  }
}
