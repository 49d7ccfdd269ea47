import { describe, expect, it } from "vitest";
import { compareDocument, compareOutputs, compareTable, formatMs, formatUsd, scaleDocument, scaleTable, textTable } from "../src/index.js";
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

  it("adds a row of backup tasks only when a run started some", () => {
    const plain = fakeReport([{ start: 10, end: 60, worker: "x" }], { backend: "local" });
    const backed = fakeReport([{ start: 10, end: 80, worker: "y" }], { backend: "openwhisk" });
    backed.totals.backups = { launched: 3, won: 2, wasted: 3, wastedMs: 420 };
    const doc = (reports: typeof plain[]) =>
      compareDocument({
        job: "j",
        input: {},
        runs: reports.map((report) => ({ report, output: 1 })),
        comparison: compareOutputs(reports.map((r) => ({ label: r.backend, output: 1, hasOutput: true }))),
        skipped: [],
      });
    expect(compareTable(doc([plain, backed]))).toContainEqual(expect.stringMatching(/^backup tasks\s+—\s+3 \(2 won\)$/));
    expect(compareTable(doc([plain])).join("\n")).not.toMatch(/backup/);
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
});
