import { describe, expect, it } from "vitest";
import { TaskError } from "../src/errors.js";
import { cancelledFailure, taskFailure, toTaskError } from "../src/schedule/failures.js";
import { Abort } from "../src/schedule/attempt.js";

describe("the scheduler's run errors, made from the facts of the failure", () => {
  it("names the job's own error and says to fix map", () => {
    const e = taskFailure(3, new TaskError("boom", { retryable: false, origin: "remote", remoteName: "RangeError" }), 1, false, 30_000);
    expect([e.code, e.message, e.hint]).toEqual(["TASK_FAILED", "task 3 failed in map: RangeError: boom", "fix the job's map function (the remote stack is in the report and shown with --verbose)"]);
  });

  it("says how many attempts a retryable failure used up, and when throttling gave up", () => {
    const flaky = new TaskError("socket hang up", { retryable: true, origin: "platform" });
    expect(taskFailure(0, flaky, 4, false, 30_000).message).toBe("task 0 failed: socket hang up (gave up after 4 attempts)");
    expect(taskFailure(0, flaky, 4, true, 30_000).message).toBe("task 0 failed: socket hang up (throttled too often)");
    expect(taskFailure(0, flaky, 4, false, 30_000).hint).toBe("check the backend's configuration and health, then run again");
  });

  it("points a timeout at the limit that fired: the run's deadline, or the platform's own", () => {
    const run = taskFailure(1, toTaskError(new Abort("timeout"), 2_500), 2, false, 2_500);
    expect([run.code, run.message, run.hint]).toEqual([
      "TASK_TIMEOUT",
      "task 1 failed: attempt timed out after 2.5 s (gave up after 2 attempts)",
      "raise timeoutMs (now 2500), or split the work into more tasks with tasks",
    ]);
    const atMost = new TaskError("late", { retryable: true, origin: "timeout", timeLimit: { setting: "--function-timeout", seconds: 900, maxSeconds: 900 } });
    expect(taskFailure(1, atMost, 2, false, 2_500).hint).toBe("--function-timeout is at the platform's most already (900): split the work into more tasks with tasks");
  });

  it("makes a job that cannot load, data out of reach and memory run out their own errors", () => {
    expect(taskFailure(0, new TaskError("no such export", { retryable: false, origin: "remote", remoteName: "JobLoadError" }), 1, false, 1).message).toBe(
      "task 0 could not load the job module: no such export",
    );
    expect(taskFailure(0, new TaskError("ECONNREFUSED", { retryable: false, origin: "remote", remoteName: "DataEndpointError" }), 1, false, 1).code).toBe("BAD_INPUT");
    const oom = new TaskError("killed", {
      retryable: false,
      origin: "remote",
      outOfMemory: { memoryMb: 128, what: "function memory", setting: "--memory", maxMb: 10240, evidence: "Runtime.OutOfMemory" },
    });
    expect(taskFailure(0, oom, 1, false, 1).code).toBe("OUT_OF_MEMORY");
  });

  it("says how far a cancelled run got", () => {
    expect(cancelledFailure(2, 5).message).toBe("run cancelled after 2 of 5 tasks");
  });
});
