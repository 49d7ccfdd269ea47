// The pi example gives the same hit count on the OpenWhisk backend (through the emulator) as on the local backend:
// an example's result is a pure function of its input and seed, whatever the backend and the task count.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, type Backend } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { pi, type PiOutput } from "@superfaas/example-pi";
import { backendFor, startOpenWhiskEmulator, type OpenWhiskEmulator } from "./helpers.js";

describe("pi on OpenWhisk", () => {
  let emulator: OpenWhiskEmulator;
  let openwhisk: Backend;
  let local: Backend;
  beforeAll(async () => {
    emulator = await startOpenWhiskEmulator({});
    openwhisk = backendFor(emulator);
    local = localBackend({ workers: 2 });
  });
  afterAll(async () => {
    await Promise.all([openwhisk?.dispose(), local?.dispose()]);
    await emulator?.close();
  });

  it("counts the same hits for 2e7 points as the local backend, with a different task count", async () => {
    const input = { points: 20_000_000, seed: 2024 };
    // Exactly one activation per task is counted below: no backup of a task slowed by its cold start.
    const [ow, lo] = await Promise.all([run(pi, input, { backend: openwhisk, tasks: 8, concurrency: 8, backupTasks: false }), run(pi, input, { backend: local, tasks: 3 })]);
    const a = ow.output as PiOutput;
    const b = lo.output as PiOutput;
    expect(a.points).toBe(20_000_000);
    expect(a.hits).toBe(b.hits);
    expect(a.estimate).toBe(b.estimate);
    expect(Math.abs(a.estimate - Math.PI)).toBeLessThan(4 * a.stdError);
    expect(ow.report.tasks.every((t) => t.platformId && /^[0-9a-f]{32}$/.test(t.platformId))).toBe(true);
    expect(ow.report.totals.coldStarts).toBeGreaterThan(0);
    expect(emulator.stats.byStatus.success).toBe(8);
  });
});
