// Small things the CLI used to pass over in silence, through the real `superfaas` process: an empty `--report`, a job
// that makes its own number of tasks whatever `--tasks` says, a memory size named twice to `cost`, and `clean`'s line
// for a run whose leftovers a live run uses (see clean-safety.test.ts for the journals it reads).
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLambdaEmulator, TEST_ROLE, type LambdaEmulator } from "@superfaas/testing";
import { fixture } from "./helpers.js";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

const ownCount = fixture("own-count.mjs");
const sumJob = fileURLToPath(new URL("./fixtures/sum-job.ts", import.meta.url));
const notes = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("note: "));

describe.skipIf(!built)(`what the CLI no longer passes over in silence${notBuilt}`, () => {
  it("--report '' is refused with one line before anything runs, on run, scale and cost", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "superfaas-report-empty-"));
    for (const args of [
      ["run", "pi", "--points", "1e4", "--report", ""],
      ["run", "pi", "--points", "1e4", "--report=  "],
      ["scale", "pi", "--points", "1e4", "--workers", "1,2", "--report", ""],
      ["cost", "pi", "--backend", "lambda", "--memory", "128", "--report", ""],
    ]) {
      const r = await superfaas(args, { cwd });
      expect(errorLines(r.stderr), args.join(" ")).toEqual([expect.stringMatching(/^error\[BAD_INPUT\]: invalid value "\s*" for --report: no folder named — pass --report the folder/)]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).not.toMatch(/tasks \(/);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("--tasks 4 on a job that makes its own 20 tasks: one note on stderr, the --json output untouched", async () => {
    const run = await superfaas(["run", ownCount, "--tasks", "4", "--workers", "2", "--json"]);
    expect(errorLines(run.stderr)).toEqual([]);
    expect(run.code).toBe(0);
    expect(notes(run.stderr)).toEqual(["note: the job chose its own task count: 20 tasks, not the 4 of --tasks (its partition does not follow it)"]);
    const report = JSON.parse(run.stdout) as { totals: { tasks: number }; output: number };
    expect(report.totals.tasks).toBe(20);
    expect(report.output).toBe(190);
    // A scale runs the job at each level: said once, not once a level.
    const scale = await superfaas(["scale", ownCount, "--tasks", "4", "--workers", "1,2"]);
    expect(errorLines(scale.stderr)).toEqual([]);
    expect(scale.code).toBe(0);
    expect(notes(scale.stderr)).toEqual(["note: the job chose its own task count: 20 tasks, not the 4 of --tasks (its partition does not follow it)"]);
    // Nothing to say when the job follows --tasks, or when no count was asked for.
    for (const args of [["run", ownCount, "--tasks", "20", "--workers", "2"], ["run", ownCount, "--workers", "2"], ["run", "pi", "--points", "1e5", "--tasks", "4", "--workers", "2"]]) {
      const r = await superfaas(args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(notes(r.stderr), args.join(" ")).toEqual([]);
    }
  });

  describe("cost against the loopback Lambda", () => {
    let lambda: LambdaEmulator;
    let env: NodeJS.ProcessEnv;
    beforeAll(async () => {
      lambda = await startLambdaEmulator({ pendingMs: 20, updateMs: 20, maxEnvironments: 4 });
      env = { ...process.env, AWS_ACCESS_KEY_ID: lambda.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: lambda.credentials.secretAccessKey, AWS_REGION: lambda.region };
      delete env.AWS_PROFILE;
    });
    afterAll(async () => {
      await lambda?.close();
    });

    it("cost --memory 128,128 --arch arm64,arm64 measures the one configuration once and says so", async () => {
      const r = await superfaas(
        ["cost", sumJob, "--backend", "lambda", "--region", lambda.region, "--endpoint", lambda.endpoint, "--role", TEST_ROLE, "--memory", "128,128", "--arch", "arm64,arm64", "--tasks", "2", "--json"],
        { env },
      );
      expect(errorLines(r.stderr)).toEqual([]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("cost: 128 MB, arm64 are named more than once; measuring each configuration once\n");
      const doc = JSON.parse(r.stdout) as { cost: { configurations: { label: string; status: string }[] } };
      expect(doc.cost.configurations.map((c) => `${c.label}: ${c.status}`)).toEqual(["128 MB arm64: succeeded"]);
      expect(lambda.functionNames()).toEqual([]);
    });
  });
});
