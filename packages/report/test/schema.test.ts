import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compareDocument, compareOutputs, parseReportDocument, reportJsonSchema, runDocument, scaleDocument, uniqueLabels, REPORT_FORMAT } from "../src/index.js";
import { busyReport, fakeReport } from "./fixtures.js";

const SCHEMA_FILE = fileURLToPath(new URL("../report.schema.json", import.meta.url));

describe("report.json documents", () => {
  it("describes a single run with its summary, and validates against the schema", () => {
    const report = busyReport(10, 2);
    const doc = runDocument({ report, output: { answer: 42 } }, { createdAt: new Date("2026-01-02T03:04:05Z") });
    expect(parseReportDocument(JSON.parse(JSON.stringify(doc)))).toEqual(doc);
    expect(doc).toMatchObject({ format: REPORT_FORMAT, formatVersion: 1, kind: "run", createdAt: "2026-01-02T03:04:05.000Z", job: "fake", skipped: [] });
    expect(doc.runs[0]).toMatchObject({ label: "local", backend: "local", status: "succeeded", output: { answer: 42 } });
    expect(doc.runs[0]!.summary.tasks).toBe(10);
  });

  it("labels repeated backends apart in a comparison", () => {
    expect(uniqueLabels(["local", "lambda", "local", "local"])).toEqual(["local", "lambda", "local#2", "local#3"]);
    const runs = [{ report: busyReport(4, 2), output: 1 }, { report: busyReport(4, 2), output: 1 }];
    const doc = compareDocument({ job: "fake", input: {}, runs, comparison: compareOutputs([{ label: "local", output: 1, hasOutput: true }, { label: "local#2", output: 1, hasOutput: true }]) });
    expect(doc.runs.map((r) => r.label)).toEqual(["local", "local#2"]);
    expect(parseReportDocument(JSON.parse(JSON.stringify(doc))).kind).toBe("compare");
  });

  it("puts speedup and efficiency of each level in a scale report, failed levels left out of the curve", () => {
    const runs = [
      { level: 1, report: fakeReport([{ start: 10, end: 410 }]) },
      { level: 2, report: fakeReport([{ start: 10, end: 210 }]) },
      { level: 4, report: fakeReport([{ start: 10, end: 20, status: "failed" }]) },
    ];
    const doc = scaleDocument({ job: "fake", input: {}, runs });
    if (doc.kind !== "scale") throw new Error("not a scale report");
    expect(doc.runs.map((r) => r.label)).toEqual(["local ×1", "local ×2", "local ×4"]);
    expect(doc.scaling.points.map((p) => [p.level, p.speedup, p.efficiency])).toEqual([
      [1, 1, 1],
      [2, 2, 1],
    ]);
    expect(parseReportDocument(JSON.parse(JSON.stringify(doc))).kind).toBe("scale");
  });

  it("keeps a metric that JSON cannot hold (Infinity) as text", () => {
    const report = { ...busyReport(2, 1), metrics: { pointsPerSec: Infinity, kernel: "js", n: 3 } };
    const doc = runDocument({ report, output: 1 });
    expect(doc.runs[0]!.report.metrics).toEqual({ pointsPerSec: "Infinity", kernel: "js", n: 3 });
    expect(() => parseReportDocument(JSON.parse(JSON.stringify(doc)))).not.toThrow();
  });

  it("rejects documents that break the schema, naming the field", () => {
    const doc = JSON.parse(JSON.stringify(runDocument({ report: busyReport(2, 1), output: 1 })));
    expect(() => parseReportDocument({ ...doc, formatVersion: 2 })).toThrow(/formatVersion/);
    doc.runs[0].report.tasks[0].attempts = -1;
    expect(() => parseReportDocument(doc)).toThrow(/attempts/);
    expect(() => parseReportDocument({ ...doc, kind: "compare" })).toThrow(/comparison/);
  });

  it("ships a JSON Schema file identical to the one generated from the zod schema (it fails when the file is missing or stale)", async () => {
    const generated = `${JSON.stringify(reportJsonSchema(), null, 2)}\n`;
    const fix = "run `pnpm --filter @superfaas/report schema` and commit packages/report/report.schema.json";
    expect(existsSync(SCHEMA_FILE), `${SCHEMA_FILE} is missing: ${fix}`).toBe(true);
    expect(await readFile(SCHEMA_FILE, "utf8"), `${SCHEMA_FILE} differs from the zod schema: ${fix}`).toBe(generated);
    const schema = JSON.parse(generated);
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.oneOf ?? schema.anyOf).toHaveLength(4);
  });
});
