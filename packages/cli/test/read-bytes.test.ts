// How many bytes a data run reads, through the real `superfaas` process: wordcount's tasks read their ranges and a
// little past them for their last line (64 KiB, doubling), not a whole further chunk, and the report says how much.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunReport } from "@superfaas/core";
import { parseReportDocument } from "@superfaas/report";
import { built, notBuilt, superfaas } from "./process.js";

describe.skipIf(!built)(`bytes read by a run over its data${notBuilt}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "superfaas-read-bytes-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // 4 MiB of 64-byte lines: no chunk boundary falls on a line boundary (+1 byte shifts them), so every task but the
  // last reads past its end for one line's tail.
  const file = join(dir, "text.txt");
  const line = `${"lorem ipsum dolor sit amet ".repeat(3).slice(0, 63)}\n`;
  const size = 4 * 2 ** 20 + 1;
  writeFileSync(file, `x${line.repeat((size - 1) / 64)}`);
  const chunk = 2 ** 20;
  const tasks = Math.ceil(size / chunk);

  it("wordcount reads about the data's size, not twice it, and reports bytesRead", async () => {
    const out = join(dir, "report");
    const r = await superfaas(["run", "wordcount", "--data", file, "--chunk", String(chunk), "--json", "--report", out]);
    expect(r.stderr).not.toMatch(/error\[/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as RunReport;
    // report.json carries it too, and its schema knows the field.
    expect(parseReportDocument(JSON.parse(readFileSync(join(out, "report.json"), "utf8"))).runs[0]!.report.totals.bytesRead).toBe(report.totals.bytesRead);
    expect(report.totals.tasks).toBe(tasks);
    const read = report.totals.bytesRead!;
    // Each range is read from one byte before it; each but the last reads one 64 KiB step past its end.
    expect(read).toBeGreaterThanOrEqual(size);
    expect(read).toBeLessThanOrEqual(size + tasks + (tasks - 1) * 64 * 1024);

    const human = await superfaas(["run", "wordcount", "--data", file, "--chunk", String(chunk)]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/, read [\d,]+ bytes/);
  });
});
