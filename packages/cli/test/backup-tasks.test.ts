// Backup tasks through the real `superfaas` process: pi with stragglers injected by the local backend gives the same
// output with backups on (the default for the examples) or off, the report and the summary count the backups, and
// bad values of the new flags are one error line.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, fixture } from "./helpers.js";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

const pi = ["run", "pi", "--points", "1e8", "--tasks", "40", "--workers", "2"];
// Seed 10 slows invocations 35, 37, 38 and 39 among others: the last tasks straggle, so backups are due in every run
// (whatever the machine's timing), as the run cannot end before them.
const stragglers = ["--straggle", "0.25x20", "--straggle-seed", "10"];

describe.skipIf(!built)(`backup tasks in the CLI${notBuilt}`, () => {
  it("pi with a quarter of invocations slowed 20x: same output with backups (counted) and with --no-backup-tasks (none)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "superfaas-backups-"));
    try {
      const backed = await superfaas([...pi, ...stragglers, "--report", dir]);
      const off = await superfaas([...pi, ...stragglers, "--no-backup-tasks", "--json"]);
      for (const r of [backed, off]) expect(r.code, r.stderr).toBe(0);
      const b = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")).runs[0];
      const c = JSON.parse(off.stdout);
      expect(b.output).toEqual(c.output);
      // pi is marked deterministic: backups are on by default, within the budget (10% of 40 tasks), each winning or wasted.
      const t = b.report.totals;
      expect(t.backups.launched).toBeGreaterThanOrEqual(1);
      expect(t.backups.launched).toBeLessThanOrEqual(4);
      expect(t.attempts).toBe(40 + t.backups.launched);
      expect(t.backups.wasted).toBe(t.backups.launched);
      expect(b.report.tasks.filter((r: { backup?: unknown }) => r.backup)).toHaveLength(t.backups.launched);
      // The progress lines say that backups started, and the human summary has a line for them.
      expect(backed.stderr).toMatch(/^pi: 40\/40 tasks \(100%\) after [\d.]+ s, \d+ backups? of stragglers$/m);
      expect(backed.stdout).toMatch(new RegExp(`^backup tasks ${t.backups.launched} launched, ${t.backups.won} won, ${t.backups.wasted} wasted \\(`, "m"));
      expect(c.totals.backups).toBeUndefined();
      expect(c.totals.attempts).toBe(40);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

});

describe("backup and straggle flags", () => {
  it("turns backups on for a job not marked deterministic only with --backup-tasks (or a threshold flag)", async () => {
    const totals = async (job: string, ...args: string[]) => {
      const r = await cli(["run", fixture(job), "--json", ...args]);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.output, `output of ${args.join(" ")}`).toBe(499500);
      return doc.totals;
    };
    expect((await totals("sum-job.ts", "--tasks", "4")).backups).toBeUndefined();
    expect((await totals("sum-job.ts", "--tasks", "4", "--backup-tasks")).backups).toMatchObject({ launched: 0, won: 0, wasted: 0 });
    // The same stragglers as above, on a job whose 40 tasks each sleep 30 ms: its last tasks run 20x longer than the
    // median, so a run with backups on launches some, and a run with them off launches none.
    const slow = ["--tasks", "40", "--workers", "2", ...stragglers];
    const [plain, multiple, after, off] = await Promise.all([
      totals("sleepy-job.mjs", ...slow),
      totals("sleepy-job.mjs", ...slow, "--backup-multiple", "3"),
      totals("sleepy-job.mjs", ...slow, "--backup-after", "0.5"),
      totals("sleepy-job.mjs", ...slow, "--backup-multiple", "3", "--no-backup-tasks"),
    ]);
    for (const t of [plain, off]) {
      expect(t.backups).toBeUndefined();
      expect(t.attempts).toBe(40);
    }
    for (const t of [multiple, after]) {
      expect(t.backups.launched).toBeGreaterThanOrEqual(1);
      expect(t.backups.launched).toBeLessThanOrEqual(4); // 10% of 40 tasks
      expect(t.attempts).toBe(40 + t.backups.launched);
    }
  });

  it("refuses a bad --straggle, --straggle-seed alone and --backup-after out of range and a --backup-multiple below 1, with one error line each", async () => {
    const cases = [
      [["--straggle", "2x10"], /^error\[BAD_INPUT\]: invalid value "2x10" for --straggle — /],
      [["--straggle-seed", "4"], /^error\[BAD_INPUT\]: --straggle-seed without --straggle — /],
      [["--backup-after", "1.5"], /^error\[BAD_INPUT\]: invalid value "1.5" for --backup-after — /],
      [["--backup-multiple", "0.5"], /^error\[BAD_INPUT\]: invalid value "0.5" for --backup-multiple — /],
    ] as const;
    for (const [args, message] of cases) {
      // In this process: the same main() as the binary, without paying a process start per bad flag.
      const r = await cli(["run", fixture("sum-job.ts"), ...args]);
      expect(r.code).toBe(2);
      expect(errorLines(r.stderr)).toHaveLength(1);
      expect(errorLines(r.stderr)[0]).toMatch(message);
    }
  });
});
