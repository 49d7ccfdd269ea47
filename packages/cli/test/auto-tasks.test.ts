// `--tasks auto` through the real `superfaas` process: the probe runs on the backend, the summary says what was chosen
// and why, the report carries the measurements, and the output is exact. On the loopback OpenWhisk server with 50 ms
// of platform overhead per invocation, the measured overhead is at least those 50 ms (each activation waits them).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenWhiskEmulator, type OpenWhiskEmulator } from "@superfaas/testing";
import { fixture } from "./helpers.js";
import { built, notBuilt, superfaas } from "./process.js";

const n = 2_000_000;
const exact = (n * (n - 1)) / 2;
type Report = { output: number; totals: { tasks: number; attempts: number }; autoTasks?: { tasks: number; overheadMs: number; workMs: number; probeTasks: number; fineTasks: number; reason: string } };

describe.skipIf(!built)(`--tasks auto${notBuilt}`, () => {
  let ow: OpenWhiskEmulator;
  beforeAll(async () => {
    // The per-minute limit raised, as an operator would: a stock namespace's 60 leaves no room for a probe.
    ow = await startOpenWhiskEmulator({ invokeOverheadMs: 50, invocationsPerMinute: 100_000 });
  });
  afterAll(async () => {
    await ow?.close();
  });

  it("measures the backend, says what it chose and why, and gets the exact output, locally and on OpenWhisk", async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    const [local, text, openwhisk] = await Promise.all([
      superfaas(["run", fixture("sum-job.ts"), "--n", String(n), "--slow", "5", "--workers", "2", "--json"]),
      superfaas(["run", fixture("sum-job.ts"), "--n", String(n), "--workers", "1"]),
      superfaas(["run", fixture("sum-job.ts"), "--n", String(n), "--slow", "5", "--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null", "--concurrency", "4", "--json"]),
    ]);
    for (const r of [local, openwhisk]) {
      expect(r.stderr).not.toMatch(/error\[/);
      expect(r.code).toBe(0);
      const rep = JSON.parse(r.stdout) as Report;
      expect(rep.output).toBe(exact);
      const d = rep.autoTasks!;
      expect(d.tasks).toBe(rep.totals.tasks);
      expect(d.tasks % 4).toBe(0);
      expect(d.fineTasks).toBe(1024);
      expect(d.probeTasks).toBeGreaterThanOrEqual(8);
      expect(d.reason).toMatch(new RegExp(`^${d.tasks} tasks \\(${d.tasks / 4} per slot, 4 slots\\): `));
    }
    // Each activation waits 50 ms in the platform before it runs: the overhead measured is at least that.
    expect((JSON.parse(openwhisk.stdout) as Report).autoTasks!.overheadMs).toBeGreaterThanOrEqual(50);
    // Without --json, the summary has the line.
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^tasks auto: \d+ tasks \(\d+ per slot, 2 slots\): .* overhead per invocation and .* of work per slot; .*\(probe: \d+ tasks of 512, /m);
    expect(text.stdout.split("\n")[0]).toBe(String(exact));
  }, 120_000);
});
