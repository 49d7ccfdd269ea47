import { describe, expect, it } from "vitest";
import { OPTION_NAMES, SuperfaasError, type OptionNames } from "../src/errors.js";
import { MAX_TIMEOUT_MS, maxLocalWorkers, maxTasks, planRun } from "../src/plan/limits.js";

const facts = { defaultConcurrency: 8 };
const flags: OptionNames = { name: (o) => (o === "timeoutMs" ? "--timeout" : `--${o}`), value: (o, v) => String(o === "timeoutMs" ? v / 1000 : v) };

function refusal(f: () => unknown): SuperfaasError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SuperfaasError);
    return e as SuperfaasError;
  }
  throw new Error("expected planRun to refuse the options");
}

describe("maxTasks and maxLocalWorkers", () => {
  it("budget half the heap at a kilobyte a task, so a million tasks fit in Node's default heap of 2 GB or more", () => {
    expect(maxTasks(4 * 2 ** 30)).toBe(2 * 2 ** 20);
    expect(maxTasks(2 * 2 ** 30)).toBeGreaterThanOrEqual(1_000_000);
    expect(maxTasks()).toBeGreaterThanOrEqual(1_000_000);
  });

  it("allow 16 worker threads a core, but no more than 64 MB of memory each", () => {
    expect(maxLocalWorkers(2, 64 * 2 ** 30)).toBe(32);
    expect(maxLocalWorkers(64, 2 * 2 ** 30)).toBe(32);
    expect(maxLocalWorkers(1, 1)).toBe(1);
  });
});

describe("planRun", () => {
  it("uses the backend's default concurrency and 4 tasks per concurrent attempt when nothing is asked", () => {
    expect(planRun({}, facts, "local")).toEqual({ concurrency: 8, tasks: 32 });
    expect(planRun({ tasks: 5 }, facts, "local", "auto")).toEqual({ concurrency: 8, tasks: 5 });
    expect(planRun({}, facts, "local", 7)).toEqual({ concurrency: 8, tasks: 7 });
  });

  it("keeps at most the platform's own concurrency in flight (one window, no queue in the backend), and says what was asked", () => {
    const ow = { defaultConcurrency: 30, platformConcurrency: 30 };
    expect(planRun({ concurrency: 60, tasks: 120 }, ow, "openwhisk")).toEqual({ concurrency: 30, tasks: 120, asked: 60 });
    expect(planRun({ concurrency: 60 }, ow, "openwhisk")).toEqual({ concurrency: 30, tasks: 120, asked: 60 });
    expect(planRun({ concurrency: 10, tasks: 5 }, ow, "openwhisk")).toEqual({ concurrency: 10, tasks: 5 });
    expect(planRun({ tasks: 5 }, { defaultConcurrency: 100, platformConcurrency: 30 }, "openwhisk")).toEqual({ concurrency: 30, tasks: 5, asked: 100 });
  });

  it("lowers a default concurrency above the backend's limit, but refuses an asked-for one, naming the option", () => {
    expect(planRun({}, { defaultConcurrency: 100, maxConcurrency: 10 }, "lambda").concurrency).toBe(10);
    const e = refusal(() => planRun({ concurrency: 11 }, { defaultConcurrency: 100, maxConcurrency: 10 }, "lambda"));
    expect(e.code).toBe("BAD_INPUT");
    expect(e.message).toBe("concurrency 11 is more than the lambda backend can run at once (10)");
    expect(e.hint).toBe("pass concurrency 10 or less");
    expect(e.reworded(flags).message).toBe("--concurrency 11 is more than the lambda backend can run at once (10)");
  });

  it("refuses a concurrency of a billion on a backend without a limit: no process can keep that many attempts", () => {
    const e = refusal(() => planRun({ concurrency: 1e9 }, facts, "openwhisk", "auto", 1000));
    expect(e.message).toBe("concurrency 1000000000 is more than this process can keep in flight (1,000, the most tasks it can hold)");
  });

  it("refuses more tasks than the records of a run can hold in memory, and caps auto there quietly", () => {
    const e = refusal(() => planRun({ tasks: 1e9 }, facts, "local", "auto", 1000));
    expect(e.message).toMatch(/^tasks 1000000000 is more than this process can keep track of \(1,000: each task's records take about 1024 bytes/);
    expect(e.hint).toMatch(/^pass tasks 1000 or less .*--max-old-space-size/);
    expect(e.reworded(flags).message).toMatch(/^--tasks 1000000000 is more/);
    expect(planRun({ concurrency: 900 }, facts, "local", "auto", 1000)).toEqual({ concurrency: 900, tasks: 1000 });
  });

  it("refuses timeouts below a millisecond or beyond what a timer holds, in the option's own unit", () => {
    for (const timeoutMs of [0, 0.4, -1, Number.NaN, MAX_TIMEOUT_MS + 1]) {
      const e = refusal(() => planRun({ timeoutMs }, facts, "local"));
      expect(e.message).toMatch(/^timeoutMs must be between 1 and 2147483647 \(about 24\.8 days\), got/);
      expect(e.reworded(flags).message).toMatch(/^--timeout must be between 0\.001 and 2147483\.647 \(about 24\.8 days\), got/);
    }
    expect(planRun({ timeoutMs: MAX_TIMEOUT_MS }, facts, "local").concurrency).toBe(8);
  });

  it("refuses concurrency, tasks and retries that are not whole numbers in range", () => {
    expect(refusal(() => planRun({ concurrency: 0 }, facts, "local")).message).toBe("concurrency must be a whole number >= 1, got 0");
    expect(refusal(() => planRun({ tasks: 2.5 }, facts, "local")).message).toBe("tasks must be a whole number >= 1, got 2.5");
    expect(refusal(() => planRun({ retries: -1 }, facts, "local")).message).toBe("retries must be a whole number >= 0, got -1");
  });

  it("words errors without options exactly as before: reworded is the identity", () => {
    const e = new SuperfaasError("TASK_FAILED", "boom", "fix it");
    expect(e.reworded(flags)).toBe(e);
    expect(OPTION_NAMES.name("timeoutMs")).toBe("timeoutMs");
  });
});
