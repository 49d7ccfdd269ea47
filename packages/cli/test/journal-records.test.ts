// Journal records that pass their CRC but have the wrong shape, through the real `superfaas runs` and `resume`: they
// are skipped like torn lines, never a crash and never a task counted done that is not.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

/** A journal line as the journal writes it: the CRC-32 of the JSON in 8 hex digits, a space, the JSON. */
const line = (json: string) => `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;

const PI = ["pi", "--points", "2e6", "--tasks", "8", "--workers", "2"];

/** Runs pi to the end and returns its output, its run id and its journal's records (JSON text, in order). */
async function finishedRun(stateDir: string): Promise<{ output: unknown; runId: string; records: string[] }> {
  const r = await superfaas(["run", ...PI, "--json", "--state-dir", stateDir]);
  expect(errorLines(r.stderr)).toEqual([]);
  const report = JSON.parse(r.stdout) as { runId: string; output: unknown };
  const text = readFileSync(join(stateDir, "runs", `${report.runId}.jsonl`), "utf8");
  return { output: report.output, runId: report.runId, records: text.split("\n").filter(Boolean).map((l) => l.slice(9)) };
}

describe.skipIf(!built)(`wrong-shaped journal records through the real CLI process${notBuilt}`, () => {
  it("records with a valid CRC but the wrong shape are skipped and counted as damaged; runs and resume neither crash nor count a task done that is not", { timeout: 120_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "superfaas-records-"));
    const { output, runId, records } = await finishedRun(stateDir);
    const start = records.find((r) => JSON.parse(r).t === "start")!;
    const partials = new Map<number, unknown>();
    for (const r of records) {
      const rec = JSON.parse(r) as { t: string; r?: unknown[] };
      for (const item of rec.t === "done" ? rec.r! : []) if (Array.isArray(item)) partials.set(item[0] as number, item[1]);
    }
    expect(partials.size).toBe(8);
    const done = (items: unknown[]) => JSON.stringify({ t: "done", r: items });
    const wrong = [
      "null",
      "[]",
      '{"t":"done","r":5}',
      '{"t":"done","r":[[5]]}',
      '{"t":"done","r":[[6,null,"../../../etc/passwd",0]]}',
      '{"t":"done","r":[[-1,3],[1.5,3]]}',
      '{"t":"resume"}',
      '{"t":"end","status":"exploded"}',
      '{"t":"done","r":[{"meta":{"taskCount":"8"}}]}',
      JSON.stringify({ ...JSON.parse(start), runId: "another-run" }),
    ];
    // Tasks 0-3 done, then the wrong records, then a duplicate of task 0 with another partial and tasks the run has not.
    const journal = [
      start,
      ...[0, 1, 2, 3].map((i) => done([[i, partials.get(i)]])),
      ...wrong,
      done([[0, partials.get(7)]]),
      done([[8, partials.get(4)], [99, partials.get(5)]]),
    ];
    writeFileSync(join(stateDir, "runs", `${runId}.jsonl`), journal.map(line).join(""));

    const listed = await superfaas(["runs", "--json", "--state-dir", stateDir]);
    expect(errorLines(listed.stderr)).toEqual([]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ runId, status: "interrupted", done: 4, total: 8, damagedLines: wrong.length })]);
    const table = await superfaas(["runs", "--state-dir", stateDir]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`${"4/8".padStart(13)}  interrupted`);

    const resumed = await superfaas(["resume", runId.slice(0, 8), "--json", "--workers", "2", "--state-dir", stateDir]);
    expect(errorLines(resumed.stderr)).toEqual([]);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as { output: unknown; totals: { attempts: number; retries: number; backups?: { launched: number } }; tasks: { index: number; attempts: number }[] };
    // Only tasks 4-7 ran again (once each, plus any backup a loaded machine gave one of them: pi is deterministic), and
    // the output is the uninterrupted run's (task 0's first partial, not the duplicate).
    expect(report.tasks.filter((t) => t.attempts > 0).map((t) => t.index)).toEqual([4, 5, 6, 7]);
    expect(report.totals.attempts).toBe(4 + report.totals.retries + (report.totals.backups?.launched ?? 0));
    expect(report.output).toEqual(output);
  });

  it("a journal whose start record has the wrong shape is unreadable: runs says so, resume is one JOURNAL error, clean removes it", { timeout: 60_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "superfaas-records-"));
    mkdirSync(join(stateDir, "runs"), { mode: 0o700 });
    const id = "0badf00d-0000-4000-8000-000000000000";
    writeFileSync(join(stateDir, "runs", `${id}.jsonl`), line(JSON.stringify({ t: "start", v: 1, runId: id, job: "pi", backend: "local", options: null })));
    const listed = await superfaas(["runs", "--json", "--state-dir", stateDir]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([{ runId: id, status: "unreadable", error: expect.stringContaining("has no valid start record") }]);
    const resumed = await superfaas(["resume", "0badf00d", "--state-dir", stateDir]);
    expect(errorLines(resumed.stderr)).toEqual([expect.stringMatching(/^error\[JOURNAL\]: the run journal .* has no valid start record — /)]);
    expect(resumed.code).toBe(1);
    const clean = await superfaas(["clean", "--state-dir", stateDir]);
    expect(clean.stdout).toContain(`removing unreadable journal ${join(stateDir, "runs", `${id}.jsonl`)}`);
    expect(clean.code).toBe(0);
  });
});
