import { describe, expect, it } from "vitest";
import { cli, fixture } from "./helpers.js";

describe("superfaas CLI", () => {
  it("lists the backends", async () => {
    const r = await cli(["backends"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^local\s+worker threads/m);
  });

  it("runs a TypeScript job module by path and prints its output and a summary", async () => {
    const r = await cli(["run", fixture("sum-job.ts"), "--n", "1e4", "--tasks", "7", "--concurrency", "2"]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(String((1e4 * (1e4 - 1)) / 2));
    expect(r.stdout).toMatch(/backend local, 7 tasks, concurrency 2: succeeded/);
  });

  it("accepts counts written as 1e6, 1_000_000 and 1000000 alike", async () => {
    const outputs = new Set<string>();
    for (const n of ["1e6", "1_000_000", "1000000"]) {
      const r = await cli(["run", fixture("sum-job.ts"), "--n", n, "--json"]);
      expect(r.code).toBe(0);
      outputs.add(JSON.stringify(JSON.parse(r.stdout).output));
    }
    expect([...outputs]).toEqual([String((1e6 * (1e6 - 1)) / 2)]);
  });

  it("prints only the report with --json", async () => {
    const r = await cli(["run", fixture("sum-job.ts"), "--json", "--tasks", "3"]);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ schemaVersion: 1, job: "sum", backend: "local", status: "succeeded", output: 499500 });
    expect(report.tasks).toHaveLength(3);
  });

  const badInputs: [string, string[], RegExp][] = [
    ["an unknown backend", ["run", "pi", "--backend", "nope"], /^error\[UNKNOWN_BACKEND\]: unknown backend "nope" — choose one of: local/],
    ["non-numeric points", ["run", fixture("sum-job.ts"), "--n", "lots"], /^error\[BAD_INPUT\]: invalid value "lots" for n: .* — --n takes a whole number/],
    ["negative points", ["run", fixture("sum-job.ts"), "--n", "-5"], /^error\[BAD_INPUT\]: invalid value "-5" for n/],
    ["tasks below one", ["run", fixture("sum-job.ts"), "--tasks", "0"], /^error\[BAD_INPUT\]: invalid value "0" for --tasks — --tasks takes a whole number >= 1/],
    ["a module path that does not exist", ["run", "./nowhere/job.mjs"], /^error\[MODULE_NOT_FOUND\]: job module not found: .*nowhere\/job\.mjs — give the path/],
    [
      "a module that throws while loading",
      ["run", fixture("throws-on-load.mjs")],
      /^error\[JOB_LOAD_FAILED\]: job module .*throws-on-load\.mjs threw while loading: config\.json is missing next to the job — fix the error in the module/,
    ],
    ["run without a job", ["run", "--tasks", "3"], /^error\[BAD_INPUT\]: missing the job to run — name an example \(pi, .*\) or the path of a job module; `superfaas run --help` lists the flags\n$/],
    ["scale without a job", ["scale", "--workers", "1,2"], /^error\[BAD_INPUT\]: missing the job to scale — /],
    ["an unknown example name", ["run", "pie"], /^error\[UNKNOWN_JOB\]: unknown job "pie" — give the path of a module that exports a job, or one of the examples: pi/],
    ["a module that exports no job", ["run", fixture("no-job.mjs")], /^error\[NO_JOB_EXPORT\]: .*no-job\.mjs exports no job — export a job made with defineJob/],
    ["a module with several jobs and no --job", ["run", fixture("two-jobs.mjs")], /^error\[NO_JOB_EXPORT\]: .* exports several jobs \(a, b\) — pick one with --job NAME/],
    ["a backend flag that is not a whole number", ["run", fixture("sum-job.ts"), "--workers", "two"], /^error\[BAD_INPUT\]: invalid value "two" for --workers — --workers takes a whole number >= 1/],
    ["a backend flag below its minimum", ["run", fixture("sum-job.ts"), "--max-heap-mb", "8"], /^error\[BAD_INPUT\]: invalid value "8" for --max-heap-mb — --max-heap-mb takes a whole number >= 16/],
    ["a cloud backend's number flag that is not a number", ["run", fixture("sum-job.ts"), "--backend", "lambda", "--price-gb-second", "cheap"], /^error\[BAD_INPUT\]: invalid value "cheap" for --price-gb-second — --price-gb-second takes a number >= 0/],
    ["an unknown flag", ["run", fixture("sum-job.ts"), "--frobnicate"], /^error\[BAD_INPUT\]: unknown option '--frobnicate' — run `superfaas --help`/],
  ];
  for (const [what, args, expected] of badInputs) {
    it(`rejects ${what} with one clear line and exit code 2`, async () => {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(expected);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stdout).toBe("");
    });
  }

  it("adds the stack with --verbose", async () => {
    const r = await cli(["run", fixture("sum-job.ts"), "--n", "lots", "--verbose"]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").length).toBeGreaterThan(3);
    expect(r.stderr).toMatch(/at coerceParam/);
  });

  it("selects a job with --job", async () => {
    const r = await cli(["run", fixture("two-jobs.mjs"), "--job", "b", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).job).toBe("b");
  });

  it("reports a failing map with its remote message, exit code 1, and the remote stack under --verbose", async () => {
    const r = await cli(["run", fixture("throws.mjs"), "--verbose"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[TASK_FAILED\]: task 1 failed in map: RangeError: task one is cursed/);
    expect(r.stderr).toMatch(/remote stack:\nRangeError: task one is cursed\n\s+at (Object\.)?map/);
  });

  it("cancels on abort: prints partial stats and exits 130", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 700);
    const r = await cli(["run", fixture("sum-job.ts"), "--slow", "400", "--tasks", "20", "--concurrency", "2"], { signal: controller.signal });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/error\[CANCELLED\]: run cancelled after \d+ of 20 tasks/);
    expect(r.stderr).toMatch(/\d+ of 20 tasks had finished; \d+ were cancelled/);
  });

  it("words a timed-out task in seconds, like --timeout, and names the flag in the hint (#9.6)", async () => {
    const r = await cli(["run", fixture("sum-job.ts"), "--slow", "3000", "--tasks", "2", "--timeout", "0.25", "--retries", "0"]);
    expect(r.code).toBe(1);
    const line = r.stderr.split("\n").find((l) => l.startsWith("error["));
    expect(line).toMatch(/^error\[TASK_TIMEOUT\]: task \d failed: attempt timed out after 0\.25 s \(gave up after 1 attempts\) — raise --timeout \(now 0\.25\), or split the work into more tasks with --tasks$/);
    expect(r.stderr).not.toMatch(/\bms\b.*--timeout|timeoutMs/);
  });

  it("words core's bounds on run options as the CLI's flags", async () => {
    const r = await cli(["run", fixture("sum-job.ts"), "--concurrency", "100000", "--workers", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error[BAD_INPUT]: --concurrency 100000 is more than the local backend can run at once (4) — pass --concurrency 4 or less\n");
  });

  for (const command of ["run", "compare", "scale", "cost"]) {
    it(`prints ${command}'s help with --help and no job, exit 0`, async () => {
      for (const flag of ["--help", "-h"]) {
        const r = await cli([command, flag]);
        expect(r.code).toBe(0);
        expect(r.stderr).toBe("");
        expect(r.stdout).toMatch(new RegExp(`^Usage: superfaas ${command} \\[options\\] <job>\n`));
        expect(r.stdout).toMatch(/--help\s+show help/);
      }
    });
  }

  it("names the job, not a stray <job>, in the usage line of a job's help", async () => {
    for (const command of ["run", "scale"]) {
      const r = await cli([command, fixture("sum-job.ts"), "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout.split("\n")[0]).toMatch(new RegExp(`^Usage: superfaas ${command} \\S*sum-job\\.ts \\[options\\]$`));
    }
  });

  it("shows the job module's own stack with --verbose when it throws while loading", async () => {
    const r = await cli(["run", fixture("throws-on-load.mjs"), "--verbose"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[JOB_LOAD_FAILED\]/);
    expect(r.stderr).toMatch(/caused by: Error: config\.json is missing next to the job\n\s+at .*throws-on-load\.mjs:2/);
  });

  it("shows the job's own flags in run help", async () => {
    const r = await cli(["run", fixture("sum-job.ts"), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--n <n>\s+sum the integers below n \(default: 1000\)/);
    expect(r.stdout).toMatch(/--backend <name>/);
  });
});
