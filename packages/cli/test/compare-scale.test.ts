import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findJob, readRange, SuperfaasError, type Backend, type BackendDescriptor, type Job } from "@superfaas/core";
import { localBackendDescriptor } from "@superfaas/backend-local";
import { parseReportDocument } from "@superfaas/report";
import { cli, fixture } from "./helpers.js";

/** A backend nobody configured: its factory fails the way real cloud backends do without credentials. */
const unconfigured: BackendDescriptor<never> = {
  name: "cloudy",
  description: "a cloud with no credentials here",
  flags: [{ name: "cloudy-key", value: "KEY", description: "API key" }],
  create: () => {
    throw new SuperfaasError("BACKEND_CONFIG", "cloudy: no API key", "pass --cloudy-key or set CLOUDY_KEY");
  },
};

/** A backend that runs `map` in this process, optionally bending each partial, and prices its runs. */
function inProcess(name: string, bend: (partial: number) => number = (p) => p): BackendDescriptor<never> {
  return {
    name,
    description: `in-process test backend ${name}`,
    create: (): Backend => {
      let job: Job | undefined;
      return {
        name,
        facts: { defaultConcurrency: 2 },
        async prepare(ctx) {
          job = findJob((await import(pathToFileURL(ctx.job.modulePath).href)) as Record<string, unknown>, ctx.job.jobName);
        },
        async invoke(req) {
          const partial = (await job!.map(req.task, { taskIndex: req.taskIndex, attempt: req.attempt, workerId: `${name}:1`, read: (range) => readRange(range) })) as number;
          return { partial: bend(partial), workerId: `${name}:${req.taskIndex % 2}`, coldStart: req.taskIndex < 2, billedMs: 100 };
        },
        estimateCost: ({ invocations, billedMs }) => invocations * 2e-7 + billedMs * 1.7e-8,
        async dispose() {},
      };
    },
  };
}

const lines = (text: string) => text.trimEnd().split("\n");
const row = (text: string, name: string) => lines(text).find((l) => l.startsWith(name)) ?? "";

describe("superfaas scale", () => {
  it("runs the job at each level and prints wall time, speedup and efficiency against the smallest level", async () => {
    const r = await cli(["scale", fixture("sum-job.ts"), "--backend", "local", "--workers", "2,1", "--n", "1e5", "--tasks", "4"]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const [header, one, two, note] = lines(r.stdout);
    expect(header).toMatch(/^workers\s+tasks\s+wall time\s+execute\s+speedup\s+efficiency\s+throughput$/);
    expect(one).toMatch(/^\s*1\s+4\s+\S+ m?s\s+\S+ m?s\s+1\.00×\s+100%/);
    expect(two).toMatch(/^\s*2\s+4\s+\S+ m?s\s+\S+ m?s\s+\d+\.\d\d×\s+\d+%/);
    expect(note).toBe("speedup and efficiency against 1 worker, by execute time");
  });

  it("scales the pi example on the local backend: one row per level, speedup and efficiency from the execute times, the same hits at every level", async () => {
    const dir = await mkdtemp(join(tmpdir(), "superfaas-scale-pi-"));
    try {
      const r = await cli(["scale", "pi", "--backend", "local", "--workers", "1,2", "--points", "2e6", "--report", dir]);
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      const [header, ...rest] = lines(r.stdout);
      expect(header).toMatch(/^workers\s+tasks\s+wall time\s+execute\s+speedup\s+efficiency\s+throughput$/);
      const rows = rest.slice(0, 2).map((l) => {
        const m = /^\s*(\d+)\s+(\d+)\s+\S+ m?s\s+\S+ m?s\s+(\d+\.\d\d)×\s+(\d+)%\s+\S+ tasks\/s$/.exec(l);
        expect(m, `a level row: ${l}`).not.toBeNull();
        return { level: Number(m![1]), speedup: Number(m![3]), efficiency: Number(m![4]) };
      });
      expect(rest[2]).toBe("speedup and efficiency against 1 worker, by execute time");
      expect(rows.map((x) => x.level)).toEqual([1, 2]);
      const doc = parseReportDocument(JSON.parse(await readFile(join(dir, "report.json"), "utf8")));
      if (doc.kind !== "scale") throw new Error(`expected a scale report, got ${doc.kind}`);
      const [one, two] = doc.scaling.points;
      expect(doc.scaling).toMatchObject({ basis: "execute", baselineLevel: 1 });
      expect([one!.level, one!.speedup, one!.efficiency]).toEqual([1, 1, 1]);
      // Level 2 against level 1: speedup is the ratio of execute times, efficiency the speedup per worker added.
      expect(two!.level).toBe(2);
      expect(two!.speedup).toBeCloseTo(one!.executeMs / two!.executeMs, 6);
      expect(two!.efficiency).toBeCloseTo(two!.speedup / 2, 6);
      // The table prints the same figures, rounded.
      expect(rows[0]).toEqual({ level: 1, speedup: 1, efficiency: 100 });
      expect(rows[1]!.speedup).toBeCloseTo(two!.speedup, 2);
      expect(rows[1]!.efficiency).toBe(Math.round(two!.efficiency * 100));
      // pi's estimate is a pure function of points and seed: both levels count the same hits over the same points.
      const outputs = doc.runs.map((x) => x.output as { hits: number; points: number });
      expect(outputs.map((o) => o.points)).toEqual([2e6, 2e6]);
      expect(outputs[0]!.hits).toBeGreaterThan(0);
      expect(outputs[1]!.hits).toBe(outputs[0]!.hits);
      expect(doc.runs.map((x) => x.report.concurrency)).toEqual([1, 2]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const badLevels: [string, string[], RegExp][] = [
    ["a zero level", ["--workers", "1,0"], /^error\[BAD_INPUT\]: invalid value "1,0" for --workers — --workers takes whole numbers >= 1 separated by commas/],
    ["a level that is not a number", ["--workers", "1,two"], /^error\[BAD_INPUT\]: invalid value "1,two" for --workers/],
    ["no levels at all", [], /^error\[BAD_INPUT\]: scale needs the levels to run at — pass --workers/],
    ["an unknown basis", ["--workers", "1", "--by", "cpu"], /^error\[BAD_INPUT\]: option '--by <time>' argument 'cpu' is invalid/],
  ];
  for (const [what, args, expected] of badLevels) {
    it(`rejects ${what} with one line and exit code 2`, async () => {
      const r = await cli(["scale", fixture("sum-job.ts"), ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(expected);
      expect(lines(r.stderr)).toHaveLength(1);
    });
  }

  it("prints a scale report document with --json", async () => {
    const r = await cli(["scale", fixture("sum-job.ts"), "--workers", "1,2", "--tasks", "2", "--json"]);
    expect(r.code).toBe(0);
    const doc = parseReportDocument(JSON.parse(r.stdout));
    expect(doc.kind).toBe("scale");
    if (doc.kind !== "scale") return;
    expect(doc.scaling.points.map((p) => p.level)).toEqual([1, 2]);
    expect(doc.scaling.points[0]!.speedup).toBe(1);
    expect(doc.runs.map((x) => x.report.concurrency)).toEqual([1, 2]);
    expect(doc.runs.map((x) => x.output)).toEqual([499500, 499500]);
  });
});

describe("superfaas compare", () => {
  it("runs the job on each backend and prints them side by side, outputs checked", async () => {
    const r = await cli(["compare", fixture("sum-job.ts"), "--backends", "local,local", "--n", "1e5", "--tasks", "4"]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]).toMatch(/^\s+local\s+local#2$/);
    // Every row holds one figure per backend, in that row's unit.
    const time = String.raw`[\d.]+ m?s`;
    const figures: [string, string][] = [
      ["tasks", "4"],
      ["wall time", time],
      ["time to first result", time],
      ["task latency p50", time],
      ["task latency p95", time],
      ["task latency p99", time],
      ["cold starts", String.raw`\d+`],
      ["retries", "0"],
      ["throughput", String.raw`[\d.]+ tasks/s`],
      ["est. cost", "—"],
    ];
    for (const [name, figure] of figures) {
      expect(row(r.stdout, name), name).toMatch(new RegExp(`^${name.replace(".", "\\.")}\\s+${figure}\\s+${figure}$`));
    }
    expect(row(r.stdout, "output")).toMatch(/^output\s+reference\s+same$/);
    expect(row(r.stdout, "status")).toMatch(/^status\s+succeeded\s+succeeded$/);
  });

  it("skips a backend that is not configured, with its reason, and still runs the others", async () => {
    const r = await cli(["compare", fixture("sum-job.ts"), "--backends", "cloudy,local", "--tasks", "2"], { backends: [localBackendDescriptor as BackendDescriptor<never>, unconfigured] });
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]).toMatch(/^\s+local$/);
    expect(r.stdout).toMatch(/^skipped cloudy: no API key \(pass --cloudy-key or set CLOUDY_KEY\)$/m);
  });

  it("compares every registered backend when --backends is left out", async () => {
    const r = await cli(["compare", fixture("sum-job.ts"), "--tasks", "3"], { backends: [localBackendDescriptor as BackendDescriptor<never>, inProcess("fake"), unconfigured] });
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]).toMatch(/^\s+local\s+fake$/);
    expect(row(r.stdout, "est. cost")).toMatch(/^est\. cost\s+—\s+\$0\.0+[1-9]\d*$/);
    expect(row(r.stdout, "cold starts")).toMatch(/^cold starts\s+\d+\s+2$/);
    expect(r.stdout).toMatch(/^skipped cloudy: /m);
  });

  it("fails with exit code 1 and says where when outputs differ", async () => {
    const r = await cli(["compare", fixture("sum-job.ts"), "--backends", "local,liar", "--tasks", "2"], { backends: [
      localBackendDescriptor as BackendDescriptor<never>,
      inProcess("liar", (p) => p + 1),
    ] });
    expect(r.code).toBe(1);
    expect(row(r.stdout, "output")).toMatch(/^output\s+reference\s+DIFFERENT$/);
    expect(r.stderr).toMatch(/^error\[OUTPUTS_DIFFER\]: outputs differ from local's: liar: output: 499500 vs 499502 — /m);
  });

  it("accepts outputs within the job's own equal() tolerance", async () => {
    const r = await cli(["compare", fixture("float-job.mjs"), "--backends", "local,fuzzy", "--tasks", "4"], { backends: [
      localBackendDescriptor as BackendDescriptor<never>,
      inProcess("fuzzy", (p) => p * (1 + 1e-13)),
    ] });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(row(r.stdout, "output")).toMatch(/^output\s+reference\s+same$/);
  });

  it("fails with exit code 2 when no backend could run", async () => {
    const r = await cli(["compare", fixture("sum-job.ts"), "--backends", "cloudy"], { backends: [unconfigured] });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[BACKEND_CONFIG\]: no backend could run \(cloudy: no API key/);
  });

  it("rejects an unregistered backend name with the list of known ones", async () => {
    const r = await cli(["compare", fixture("sum-job.ts"), "--backends", "local,nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[UNKNOWN_BACKEND\]: unknown backend "nope" — choose one of: local/);
  });

  it("rejects bad job flags once, before any backend runs", async () => {
    const r = await cli(["compare", fixture("sum-job.ts"), "--backends", "local,local", "--n", "lots"]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stdout).toBe("");
  });

  it("shows the flags of every compared backend in its help", async () => {
    const r = await cli(["compare", fixture("sum-job.ts"), "--backends", "local,cloudy", "--help"], { backends: [localBackendDescriptor as BackendDescriptor<never>, unconfigured] });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--cloudy-key <KEY>\s+\[cloudy\] API key/);
    expect(r.stdout).toMatch(/--n <n>\s+sum the integers below n/);
    expect(r.stdout).toMatch(/--report <dir>/);
  });
});

describe("--report DIR", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "superfaas-cli-report-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const checkDir = async (out: string, kind: string, svgs: string[]) => {
    const doc = parseReportDocument(JSON.parse(await readFile(join(out, "report.json"), "utf8")));
    expect(doc.kind).toBe(kind);
    const html = await readFile(join(out, "report.html"), "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    for (const svg of svgs) expect(await readFile(join(out, svg), "utf8")).toMatch(/^<svg /);
    return doc;
  };

  it("writes report.json, report.html and timeline.svg for a run", async () => {
    const out = join(dir, "run");
    const r = await cli(["run", fixture("sum-job.ts"), "--tasks", "3", "--report", out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^report: .*report\.html \(data: .*report\.json; svg: .*timeline\.svg\)$/m);
    const doc = await checkDir(out, "run", ["timeline.svg"]);
    expect(doc.runs[0]!.output).toBe(499500);
  });

  it("writes the report of a failed run too", async () => {
    const out = join(dir, "failed");
    const r = await cli(["run", fixture("throws.mjs"), "--report", out]);
    expect(r.code).toBe(1);
    const doc = await checkDir(out, "run", []);
    expect(doc.runs[0]!.status).toBe("failed");
    expect(doc.runs[0]!.output).toBeUndefined();
  });

  it("writes a comparison report with the skipped backend and the compare chart", async () => {
    const out = join(dir, "compare");
    const r = await cli(["compare", fixture("sum-job.ts"), "--backends", "local,fake,cloudy", "--tasks", "2", "--report", out], { backends: [
      localBackendDescriptor as BackendDescriptor<never>,
      inProcess("fake"),
      unconfigured,
    ] });
    expect(r.code).toBe(0);
    const doc = await checkDir(out, "compare", ["timeline.svg", "compare.svg"]);
    expect(doc.skipped).toEqual([{ backend: "cloudy", code: "BACKEND_CONFIG", reason: "no API key (pass --cloudy-key or set CLOUDY_KEY)" }]);
    expect(doc.kind === "compare" && doc.comparison.agree).toBe(true);
  });

  it("writes a scaling report with the speedup chart", async () => {
    const out = join(dir, "scale");
    const r = await cli(["scale", fixture("sum-job.ts"), "--workers", "1,2", "--tasks", "2", "--report", out]);
    expect(r.code).toBe(0);
    await checkDir(out, "scale", ["timeline.svg", "scaling.svg"]);
  });
});
