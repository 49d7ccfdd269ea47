import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { built, canRunAs, NOBODY, notBuilt, superfaas as spawnCli, type OnStderr } from "./process.js";

const superfaas = (args: string[], onStderr?: OnStderr) => spawnCli(args, onStderr ? { onStderr } : {});

describe.skipIf(!built)(`superfaas binary${notBuilt}`, () => {
  it("estimates pi on the local backend and prints plain progress lines when not on a terminal", async () => {
    const r = await superfaas(["run", "pi", "--points", "2e7", "--tasks", "10"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pi ≈ 3\.\d+/);
    expect(r.stderr).toMatch(/pi: 10\/10 tasks \(100%\)/);
  });

  it("cancels on Ctrl-C (SIGINT): stops, prints partial stats, exits 130", async () => {
    let sent = false;
    const r = await superfaas(["run", "pi", "--points", "1e11", "--tasks", "400", "--concurrency", "2"], (text, child) => {
      if (!sent && /tasks \(/.test(text)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/error\[CANCELLED\]: run cancelled after \d+ of 400 tasks/);
    expect(r.stderr).toMatch(/of 400 tasks had finished/);
  }, 60_000);

  it("exits 2 with one line for bad input", async () => {
    const r = await superfaas(["run", "pi", "--points", "-3"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^error\[BAD_INPUT\]: invalid value "-3" for points/);
  });

  // #9.3: sizes that would run out of memory are refused at once, naming the flag, before anything is partitioned.
  it.each([
    ["a billion tasks", ["run", "pi", "--points", "1e12", "--tasks", "1e9"], /^error\[BAD_INPUT\]: --tasks 1000000000 is more than this process can keep track of \([\d,]+: .*\) — pass --tasks \d+ or less/],
    ["a concurrency of a billion", ["run", "pi", "--concurrency", "1e9"], /^error\[BAD_INPUT\]: --concurrency 1000000000 is more than the local backend can run at once \(\d+\) — pass --concurrency \d+ or less\n$/],
    ["a billion local workers", ["run", "pi", "--workers", "1e9"], /^error\[BAD_INPUT\]: invalid value "1e9" for --workers: more than the \d+ allowed — --workers takes a whole number from 1 to \d+\n$/],
    ["a scaling level of a billion workers", ["scale", "pi", "--workers", "1,1e9"], /^error\[BAD_INPUT\]: --workers level 1000000000 is more than the local backend can start \(\d+ workers on this machine\)/],
    ["a timeout below a millisecond", ["run", "pi", "--timeout", "0.0001"], /^error\[BAD_INPUT\]: invalid value "0.0001" for --timeout — --timeout takes seconds from 0.001 to \d+/],
  ])("refuses %s with one line and exit 2, before any task runs", async (_what, args, line) => {
    const r = await superfaas(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(line as RegExp);
    expect(r.stdout).toBe("");
    // It used to take 93 s and end in a V8 out-of-memory stack: the one BAD_INPUT line above is the proof.
  });

  // #9.5: a report folder that cannot be written is refused before the run, not after it.
  describe("--report DIR checked before the run", () => {
    const cases: [string, (dir: string) => Promise<string>, RegExp][] = [
      ["an existing file", async (dir) => {
        await writeFile(join(dir, "file"), "x");
        return join(dir, "file");
      }, /it is a file, not a folder/],
      ["a folder under a file", async (dir) => {
        await writeFile(join(dir, "file"), "x");
        return join(dir, "file", "sub");
      }, /\/file is a file, not a folder/],
      ["a path under /proc", async () => "/proc/x", /is on a special file system \(\/proc, \/sys or \/dev\)/],
      ["a folder whose report.json is a FIFO (writing it would block)", async (dir) => {
        await mkdir(join(dir, "out"));
        execFileSync("mkfifo", [join(dir, "out", "report.json")]);
        return join(dir, "out");
      }, /report\.json exists and is not a plain file/],
    ];
    it.each(cases)("refuses %s with one line and exit 2", async (_what, make, why) => {
      const dir = await mkdtemp(join(tmpdir(), "superfaas-report-check-"));
      try {
        const target = await make(dir);
        for (const command of [["run", "pi", "--points", "1e11"], ["compare", "pi", "--backends", "local", "--points", "1e11"], ["scale", "pi", "--workers", "1", "--points", "1e11"]]) {
          const r = await superfaas([...command, "--report", target]);
          expect(r.code).toBe(2);
          expect(r.stderr.trim().split("\n")).toHaveLength(1);
          expect(r.stderr).toMatch(/^error\[BAD_INPUT\]: cannot write the report to .* — pass --report a folder you can write to/);
          expect(r.stderr).toMatch(why);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    // Root may write anywhere: as root, the CLI runs as another user (nobody), for whom the folder is read-only.
    const asRoot = process.getuid?.() === 0;
    const other = asRoot && canRunAs(NOBODY) ? { uid: NOBODY, gid: NOBODY } : undefined;
    it.skipIf(asRoot && !other)(`refuses a folder it cannot write${asRoot && !other ? " (skipped: as root, and the checkout is not readable by another user to run as)" : ""}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "superfaas-report-check-"));
      try {
        await chmod(dir, 0o755);
        await mkdir(join(dir, "ro"), { mode: 0o555 });
        const r = await spawnCli(["run", "pi", "--points", "1e11", "--report", join(dir, "ro", "out")], other ?? {});
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^error\[BAD_INPUT\]: cannot write the report to .*: .*\/ro is not writable/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  // #9.4: a report of 200,000 tasks used to crash with "Maximum call stack size exceeded" (a spread into Math.min,
  // which overflows from about 125,000 values); 150,000 proves the fix in half the time (the run is most of it).
  it("writes the report of a run of 150,000 tasks", async () => {
    const dir = await mkdtemp(join(tmpdir(), "superfaas-report-200k-"));
    try {
      const r = await superfaas(["run", "pi", "--points", "1.5e5", "--tasks", "1.5e5", "--concurrency", "8", "--report", dir]);
      expect(r.stderr).not.toMatch(/error\[/);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^report: .*report\.html/m);
      const html = await readFile(join(dir, "report.html"), "utf8");
      expect(html).toContain("150,000 tasks are too many to draw one by one");
      expect(html.length).toBeLessThan(3_000_000);
      const doc = JSON.parse(await readFile(join(dir, "report.json"), "utf8"));
      expect(doc.runs[0].report.tasks).toHaveLength(150_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
