import { describe, expect, it } from "vitest";
import { defineJob, run, TaskError, type Backend } from "../src/index.js";

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
