import { describe, expect, it } from "vitest";
import { defineJob, RunError, run, TaskError, type Backend } from "../src/index.js";

const double = defineJob({
  name: "double",
  partition: (input: { n: number }) => Array.from({ length: input.n }, (_, i) => i),
  map: (i: number) => i * 2,
  reduce: (partials: number[]) => partials.reduce((a, b) => a + b, 0),
});

describe("run", () => {
  it("bills neither throttled attempts nor anything but the attempts that ran", async () => {
    let throttles = 3;
    const seen: { invocations: number; billedMs: number }[] = [];
    const backend: Backend = {
      name: "billing",
      facts: { defaultConcurrency: 2 },
      prepare: async () => {},
      dispose: async () => {},
      async invoke(req) {
        if (throttles-- > 0) throw new TaskError("429", { retryable: true, origin: "platform", throttled: true });
        return { partial: (req.task as number) * 2, billedMs: 10 };
      },
      estimateCost(usage) {
        seen.push(usage);
        return usage.invocations * 0.5;
      },
    };
    const { output, report } = await run(double, { n: 4 }, { backend, backoff: { baseMs: 1, maxMs: 2 } });
    expect(output).toBe(12);
    expect(report.totals.throttled).toBe(3);
    expect(seen).toEqual([{ invocations: 4, billedMs: 40 }]);
    expect(report.totals.costUsd).toBe(2);
  });
});

describe("run, when the job's own code on this side throws", () => {
  const backend: Backend = {
    name: "inline",
    facts: { defaultConcurrency: 2 },
    prepare: async () => {},
    dispose: async () => {},
    invoke: async (req) => ({ partial: (req.task as number) * 2 }),
  };

  it("reports reduce()'s error as the job's (JOB_FAILED), with the report of the tasks that all ran", async () => {
    const bad = defineJob({ ...double, name: "bad-reduce", reduce: () => { throw new TypeError("cannot add"); } });
    const e = await run(bad, { n: 3 }, { backend }).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(RunError);
    const re = e as RunError;
    expect(re.code).toBe("JOB_FAILED");
    expect(re.message).toBe("job bad-reduce: reduce() threw TypeError: cannot add");
    expect(re.report.status).toBe("failed");
    expect(re.report.totals.succeeded).toBe(3);
    expect((re.cause as Error).message).toBe("cannot add");
  });

  it("reports partition()'s error as the job's, before anything is prepared", async () => {
    let prepared = false;
    const bad = defineJob({ ...double, name: "bad-partition", partition: () => { throw new RangeError("empty"); } });
    await expect(run(bad, { n: 3 }, { backend: { ...backend, prepare: async () => void (prepared = true) } })).rejects.toMatchObject({
      code: "JOB_FAILED",
      message: "job bad-partition: partition() threw RangeError: empty",
    });
    expect(prepared).toBe(false);
  });
});
