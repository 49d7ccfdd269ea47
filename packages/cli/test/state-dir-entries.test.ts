// What else may sit in the state folder's runs/: a FIFO or a folder named like a journal (or a FIFO in a run's
// partials folder) is skipped with a warning by `runs`, `resume`, `clean --dry-run` and `clean`, which neither hang
// on it nor stop at it, and leave it alone.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

/** A journal line as the journal writes it: the CRC-32 of the JSON in 8 hex digits, a space, the JSON. */
const line = (rec: unknown) => {
  const json = JSON.stringify(rec);
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
};

/**
 * `superfaas ARGS` with a deadline: past `ms` it gets SIGTERM, and SIGKILL 10 s after that if SIGTERM did not end it
 * (so a hang fails the test instead of stalling it). Says which signals had to be sent.
 */
async function bounded(args: string[], ms = 60_000) {
  const sent: string[] = [];
  let timers: NodeJS.Timeout[] = [];
  const r = await superfaas(args, {
    onStart: (child) => {
      timers = [
        setTimeout(() => {
          sent.push("SIGTERM");
          child.kill("SIGTERM");
        }, ms),
        setTimeout(() => {
          sent.push("SIGKILL");
          child.kill("SIGKILL");
        }, ms + 10_000),
      ];
    },
  });
  for (const t of timers) clearTimeout(t);
  return { ...r, sent };
}

const warnings = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("warning:"));

describe.skipIf(!built)(`entries of the state folder that are not journals, through the real CLI process${notBuilt}`, () => {
  it("a FIFO and a folder named <id>.jsonl, and a FIFO as a partial's file: runs, resume, clean --dry-run and clean skip them with a warning, never hang, and clean removes the real journals", { timeout: 240_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "superfaas-entries-"));
    const runs = join(stateDir, "runs");
    mkdirSync(runs, { mode: 0o700 });
    // A finished run of another host, whose task 0's partial "file" is a FIFO.
    const good = "600d0000-0000-4000-8000-000000000000";
    const start = { t: "start", v: 1, runId: good, job: "pi", module: "/nowhere/pi.js", export: "pi", input: {}, backend: "local", backendOptions: {} };
    const plan = { options: { concurrency: 1, tasks: 2, timeoutMs: 1000, retries: 0 }, taskCount: 2, startedAt: "2026-01-01T00:00:00.000Z", pid: 1, host: "elsewhere" };
    writeFileSync(
      join(runs, `${good}.jsonl`),
      line({ ...start, ...plan }) + line({ t: "done", r: [[0, null, "0.json", 0], [1, 7]] }) + line({ t: "end", at: "2026-01-01T00:01:00.000Z", status: "succeeded" }),
    );
    mkdirSync(join(runs, `${good}.partials`), { mode: 0o700 });
    execFileSync("mkfifo", [join(runs, `${good}.partials`, "0.json")]);
    const fifo = "f1f00000-0000-4000-8000-000000000000";
    const folder = "f01de000-0000-4000-8000-000000000000";
    execFileSync("mkfifo", [join(runs, `${fifo}.jsonl`)]);
    mkdirSync(join(runs, `${folder}.jsonl`));
    const said = [
      expect.stringMatching(new RegExp(`^warning: ${join(runs, `${fifo}.jsonl`)} is a FIFO, not a run journal: skipped .* — move it out of ${runs}$`)),
      expect.stringMatching(new RegExp(`^warning: ${join(runs, `${folder}.jsonl`)} is a folder, not a run journal: skipped `)),
    ];

    const listed = await bounded(["runs", "--json", "--state-dir", stateDir]);
    expect(listed.sent).toEqual([]);
    expect(listed.code).toBe(0);
    expect(warnings(listed.stderr)).toEqual(expect.arrayContaining(said));
    expect(warnings(listed.stderr)).toHaveLength(2);
    // The FIFO as task 0's file does not count: that task is not done.
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ runId: good, status: "succeeded", done: 1, total: 2, damagedLines: 1 })]);

    const resumed = await bounded(["resume", "f1f0", "--state-dir", stateDir]);
    expect(resumed.sent).toEqual([]);
    expect(errorLines(resumed.stderr)).toEqual([expect.stringMatching(/^error\[UNKNOWN_RUN\]: no run "f1f0" in /)]);
    expect(warnings(resumed.stderr)).toEqual([said[0]]);
    expect(resumed.code).toBe(2);

    const dry = await bounded(["clean", "--dry-run", "--state-dir", stateDir]);
    expect(dry.sent).toEqual([]);
    expect(dry.code).toBe(0);
    expect(warnings(dry.stderr)).toHaveLength(2);
    expect(dry.stdout.split("\n").filter(Boolean)).toEqual([`would remove run ${good} (succeeded pi on local, 2026-01-01T00:00:00.000Z): journal`]);

    const clean = await bounded(["clean", "--state-dir", stateDir]);
    expect(clean.sent).toEqual([]);
    expect(errorLines(clean.stderr)).toEqual([]);
    expect(clean.code).toBe(0);
    expect(warnings(clean.stderr)).toHaveLength(2);
    // The real journal and its partials are gone; what is not a journal is left as it was.
    expect(readdirSync(runs).sort()).toEqual([`${fifo}.jsonl`, `${folder}.jsonl`].sort());
    expect(statSync(join(runs, `${fifo}.jsonl`)).isFIFO()).toBe(true);
    expect(statSync(join(runs, `${folder}.jsonl`)).isDirectory()).toBe(true);
    expect(existsSync(join(runs, `${good}.partials`))).toBe(false);
  });
});
