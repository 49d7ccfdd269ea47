// The pi example on Lambda (the emulator) gives the same hit count as on the local backend: the result is a pure
// function of (points, seed), whatever the backend and the task count.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { pi, type PiOutput } from "@superfaas/example-pi";
import { lambdaBackendDescriptor, type LambdaBackend } from "../src/index.js";
import { startTestbed, type LambdaTestbed } from "./helpers.js";

describe("pi on lambda (emulator) against the local backend", () => {
  let tb: LambdaTestbed;
  beforeAll(async () => {
    tb = await startTestbed({ emulator: { maxEnvironments: 4 } });
  });
  afterAll(async () => {
    await tb?.close();
  });

  it("counts the same hits for 2e7 points as the local backend, split into different task counts", async () => {
    const input = { points: 20_000_000, seed: 2024 };
    const local = localBackend({ workers: 2 });
    let expected: PiOutput;
    try {
      expected = (await run(pi, input, { backend: local, tasks: 3 })).output as PiOutput;
    } finally {
      await local.dispose();
    }
    // Made the way the CLI makes it for `--backend lambda --memory 512 --function-timeout 60`.
    const { credentials, ...rest } = tb.options();
    const lambda = (await lambdaBackendDescriptor.create({ ...rest, credentials, memory: 512, functionTimeout: 60 })) as LambdaBackend;
    try {
      const { output, report } = await run(pi, input, { backend: lambda, tasks: 8, concurrency: 4 });
      const got = output as PiOutput;
      expect(got.hits).toBe(expected.hits);
      expect(got.points).toBe(input.points);
      expect(Math.abs(got.estimate - Math.PI)).toBeLessThan(4 * got.stdError);
      expect(report.backend).toBe("lambda");
      expect(report.totals.succeeded).toBe(8);
      expect(report.totals.coldStarts).toBeGreaterThanOrEqual(1);
      expect(report.totals.coldStarts).toBeLessThanOrEqual(4);
    } finally {
      await lambda.dispose();
    }
    expect(tb.emulator.functionNames()).toEqual([]);
  });
});
