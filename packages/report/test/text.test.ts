import { describe, expect, it } from "vitest";
import { measureRun, type CostSweepResult } from "@superfaas/core";
import { compareDocument, compareOutputs, compareTable, costDocument, costTable, formatMs, formatUsd, parseReportDocument, scaleDocument, scaleTable, textTable } from "../src/index.js";
import { fakeReport } from "./fixtures.js";

describe("text tables", () => {
  it("formats times and costs for people", () => {
    expect([4.25, 12.4, 850, 1234, 61_000].map(formatMs)).toEqual(["4.3 ms", "12 ms", "850 ms", "1.23 s", "61.00 s"]);
    expect([0.0123, 0.000004567].map(formatUsd)).toEqual(["$0.0123", "$0.00000457"]);
  });

  it("aligns columns, numbers to the right", () => {
    expect(textTable([["a", "bb"], ["ccc", "1"]], new Set([1]))).toEqual(["a    bb", "ccc   1"]);
  });

  it("prints backends side by side with the output verdict and skipped backends", () => {
    const a = fakeReport([{ start: 10, end: 60, worker: "x", cold: true }], { backend: "local" });
    const b = fakeReport([{ start: 900, end: 1000, worker: "y", cold: true }], { backend: "lambda", prepareMs: 880, costUsd: 0.0000021 });
    const doc = compareDocument({
      job: "j",
      input: {},
      runs: [{ report: a, output: 1 }, { report: b, output: 2 }],
      comparison: compareOutputs([{ label: "local", output: 1, hasOutput: true }, { label: "lambda", output: 2, hasOutput: true }]),
      skipped: [{ backend: "openwhisk", code: "BACKEND_CONFIG", reason: "no API host" }],
    });
    const lines = compareTable(doc);
    expect(lines[0]).toMatch(/^\s+local\s+lambda$/);
    expect(lines).toContainEqual(expect.stringMatching(/^time to first result\s+60 ms\s+1\.00 s$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}prepare\s+10 ms\s+880 ms$/));
    expect(lines).toContainEqual(expect.stringMatching(/^est\. cost\s+—\s+\$0\.00000210$/));
    expect(lines).toContainEqual(expect.stringMatching(/^output\s+reference\s+DIFFERENT$/));
    // Columns line up: every value ends where its header does.
    const width = lines[0]!.length;
    for (const l of lines.slice(0, -1)) expect(l.length).toBe(width);
    expect(lines[lines.length - 1]).toBe("skipped openwhisk: no API host");
  });

  it("prints one row per scaling level with speedup and efficiency", () => {
    const doc = scaleDocument({
      job: "j",
      input: {},
      runs: [
        { level: 1, report: fakeReport([{ start: 10, end: 810 }], { prepareMs: 10 }) },
        { level: 4, report: fakeReport([{ start: 10, end: 260 }], { prepareMs: 10 }) },
      ],
    });
    const lines = scaleTable(doc);
    expect(lines[0]).toBe("workers  tasks  wall time  execute  speedup  efficiency   throughput");
    expect(lines[1]).toMatch(/^\s+1\s+1\s+811 ms\s+800 ms\s+1\.00×\s+100%\s+1\.3 tasks\/s$/);
    expect(lines[2]).toMatch(/^\s+4\s+1\s+261 ms\s+250 ms\s+3\.20×\s+80%\s+4\.0 tasks\/s$/);
    expect(lines[3]).toBe("speedup and efficiency against 1 worker, by execute time");
  });

  it("prints a cost sweep: a row per configuration with cold starts and costs, the picks, and the refusals in the platform's words", () => {
    const price = { gbSecondUsd: 0.0000166667, requestUsd: 0.0000002 };
    const report = fakeReport([{ start: 10, end: 110, worker: "a", cold: true }, { start: 10, end: 130, worker: "b" }], { backend: "lambda" });
    report.tasks.forEach((t, i) => Object.assign(t, { durationMs: 100 + 20 * i, billedMs: 300 }));
    report.totals.billedMs = 600;
    report.totals.coldStarts = 1;
    const result: CostSweepResult = {
      job: "fake",
      input: { n: 1 },
      totalTasks: 10,
      sampled: [2, 7],
      configurations: [
        { label: "1024 MB x86_64", memoryMb: 1024, arch: "x86_64", price, status: "succeeded", report, output: [1, 2], measure: measureRun(report, 1024, 10, price), agrees: true, pareto: true },
        { label: "4096 MB x86_64", memoryMb: 4096, arch: "x86_64", price, status: "refused", error: { code: "BACKEND_CONFIG", message: "'MemorySize' value failed to satisfy constraint" }, agrees: null, pareto: false },
      ],
      reference: "1024 MB x86_64",
      agree: true,
      recommendation: { basis: "usd", maxSlowdown: 1.25, cheapest: "1024 MB x86_64", fastest: "1024 MB x86_64", balanced: "1024 MB x86_64" },
    };
    const doc = costDocument({ backend: "lambda", result, createdAt: new Date("2026-01-02T03:04:05Z") });
    expect(parseReportDocument(JSON.parse(JSON.stringify(doc)))).toEqual(doc);
    // 600 ms at 1 GB: 0.6 GB-s × $0.0000166667 + 2 × $0.0000002 for the two tasks; × 5 for the job's ten.
    expect(doc.kind === "cost" && doc.cost.configurations[0]!.measure!.costUsd).toBeCloseTo(0.6 * 0.0000166667 + 0.0000004, 15);
    const lines = costTable(doc);
    expect(lines[0]).toMatch(/^configuration\s+status\s+tasks\s+p50 \/ task\s+p95 \/ task\s+cold starts\s+billed \/ task\s+cost \/ task\s+whole job\s+output\s+pick$/);
    expect(lines[1]).toMatch(/^1024 MB x86_64\s+succeeded\s+2\s+100 ms\s+120 ms\s+1\s+300 ms\s+\$0\.00000520\s+\$0\.0000520\s+reference\s+cheapest, fastest, balanced$/);
    expect(lines[2]).toMatch(/^4096 MB x86_64\s+refused(\s+—){8}$/);
    expect(lines).toContain("cheapest: 1024 MB x86_64; fastest: 1024 MB x86_64; cheapest within 1.25× of the fastest: 1024 MB x86_64");
    expect(lines.at(-1)).toBe("refused 4096 MB x86_64: 'MemorySize' value failed to satisfy constraint");
    expect(doc.skipped).toEqual([{ backend: "4096 MB x86_64", code: "BACKEND_CONFIG", reason: "'MemorySize' value failed to satisfy constraint" }]);
  });
});
