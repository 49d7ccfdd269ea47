// What `clean`'s safety rests on, through the real `superfaas` process: which journals belong to live runs (the owner's
// process on this host and its heartbeat; on another host the heartbeat alone), `--older-than` with real durations,
// and refusing a state folder others can write. The journals are written here, record by record as a run writes them,
// so each case (a stale heartbeat, a dead owner, another host) is exact rather than waited for.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

/** One journal line: the record behind its CRC-32, as the journal writes it. */
const frame = (rec: object) => {
  const json = JSON.stringify(rec);
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
};

interface Owner {
  pid: number;
  host?: string;
}

/** Writes the journal of run `runId` in `stateDir`: started by `owner`, resumed by `resumes`, last touched `heartbeatAgoMs` ago. */
function journal(
  stateDir: string,
  runId: string,
  opts: { owner: Owner; resumes?: Owner[]; startedAgoMs?: number; heartbeatAgoMs?: number; functions?: string[]; end?: "succeeded" },
): string {
  const now = Date.now();
  const runs = join(stateDir, "runs");
  mkdirSync(runs, { recursive: true, mode: 0o700 });
  const startedAt = new Date(now - (opts.startedAgoMs ?? 1_000)).toISOString();
  const lines = [
    frame({
      t: "start",
      v: 1,
      runId,
      job: "pi",
      module: "/nowhere/pi.js",
      export: "pi",
      input: { points: 1000 },
      backend: "local",
      backendOptions: {},
      options: { concurrency: 1, tasks: 2, timeoutMs: 60_000, retries: 0 },
      taskCount: 2,
      startedAt,
      pid: opts.owner.pid,
      host: opts.owner.host ?? hostname(),
    }),
    ...(opts.functions ? [frame({ t: "done", r: [{ meta: { resources: { functions: opts.functions } } }] })] : []),
    frame({ t: "done", r: [[0, 1]] }),
    ...(opts.resumes ?? []).map((o) => frame({ t: "resume", at: startedAt, pid: o.pid, host: o.host ?? hostname() })),
    ...(opts.end ? [frame({ t: "end", at: startedAt, status: opts.end })] : []),
  ];
  const path = join(runs, `${runId}.jsonl`);
  writeFileSync(path, lines.join(""), { mode: 0o600 });
  const touched = new Date(now - (opts.heartbeatAgoMs ?? 0));
  utimesSync(path, touched, touched);
  return path;
}

/** What a live owner's heartbeat does: touches its journals now (before each CLI command, however slow the last one was). */
const heartbeat = (paths: string[]) => {
  const now = new Date();
  for (const p of paths) utimesSync(p, now, now);
};

/** A run id whose first characters say which case it is. */
const id = (tag: string) => `${tag.padEnd(8, "0")}-0000-4000-8000-000000000000`;
/** This test process: alive, on this host, and not the CLI process that reads the journals. */
const alive: Owner = { pid: process.pid };
/** A process that has exited: its pid names nothing on this host. */
const dead: Owner = { pid: spawnSync(process.execPath, ["-e", ""]).pid! };
const elsewhere = (o: Owner): Owner => ({ ...o, host: `not-${hostname()}` });
/** Past the 30 s after which a journal nobody touches belongs to a run that is gone. */
const STALE = 40_000;

const statuses = async (stateDir: string) => {
  const r = await superfaas(["runs", "--json", "--state-dir", stateDir]);
  expect(errorLines(r.stderr)).toEqual([]);
  return Object.fromEntries((JSON.parse(r.stdout) as { runId: string; status: string }[]).map((row) => [row.runId.slice(0, 8), row.status]));
};
const removals = (stdout: string) =>
  stdout
    .split("\n")
    .filter((l) => /^(would remove|removing) run /.test(l))
    .map((l) => l.replace(/^(would remove|removing) run (\w{8})\S* .*$/, "$2"))
    .sort();

describe.skipIf(!built)(`clean's safety through the real CLI process${notBuilt}`, () => {
  it("a run is alive while its owner's process lives here and its heartbeat is fresh, or, on another host, while its heartbeat is fresh; clean keeps only those, and what they use", { timeout: 240_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "superfaas-clean-"));
    const beating = [journal(stateDir, id("a11ve"), { owner: alive, functions: ["fn-shared"] })];
    // A live pid with a stale heartbeat: the pid was reused by another process after the run died.
    journal(stateDir, id("b5ta1e"), { owner: alive, heartbeatAgoMs: STALE, functions: ["fn-shared"] });
    journal(stateDir, id("c0dead"), { owner: dead });
    // Another host's process cannot be looked up: its heartbeat alone tells.
    beating.push(journal(stateDir, id("d0e15e"), { owner: elsewhere(dead) }));
    journal(stateDir, id("e0e15e"), { owner: elsewhere(alive), heartbeatAgoMs: STALE });
    // The last session's owner holds the run: a dead first session resumed by a live one is alive, and the reverse is not.
    beating.push(journal(stateDir, id("f0e5"), { owner: dead, resumes: [alive] }));
    journal(stateDir, id("a0e5"), { owner: alive, resumes: [dead] });
    journal(stateDir, id("b0e7d"), { owner: alive, end: "succeeded" });
    heartbeat(beating);
    expect(await statuses(stateDir)).toEqual({
      a11ve000: "running",
      b5ta1e00: "interrupted",
      c0dead00: "interrupted",
      d0e15e00: "running",
      e0e15e00: "interrupted",
      f0e50000: "running",
      a0e50000: "interrupted",
      b0e7d000: "succeeded",
    });

    heartbeat(beating);
    const dry = await superfaas(["clean", "--dry-run", "--state-dir", stateDir]);
    expect(errorLines(dry.stderr)).toEqual([]);
    expect(dry.code).toBe(0);
    expect(removals(dry.stdout)).toEqual(["a0e50000", "b0e7d000", "c0dead00", "e0e15e00"]);
    // The stale run's function is the live run's too: kept, and so is the journal that knows of it; no empty list.
    expect(dry.stdout).toContain("keeping function fn-shared (in use by a live run)\n");
    expect(dry.stdout).toMatch(new RegExp(`^keeping run ${id("b5ta1e")} \\(interrupted pi on local, [^)]*\\) and its journal until that run ends; clean again then$`, "m"));
    expect(dry.stdout).not.toMatch(/: $/m);
    expect(readdirSync(join(stateDir, "runs"))).toHaveLength(8);

    heartbeat(beating);
    const clean = await superfaas(["clean", "--state-dir", stateDir]);
    expect(errorLines(clean.stderr)).toEqual([]);
    expect(clean.code).toBe(0);
    expect(removals(clean.stdout)).toEqual(["a0e50000", "b0e7d000", "c0dead00", "e0e15e00"]);
    expect(readdirSync(join(stateDir, "runs")).sort()).toEqual([id("a11ve"), id("b5ta1e"), id("d0e15e"), id("f0e5")].map((r) => `${r}.jsonl`).sort());

    // Once the live run is gone, the run it kept is removed by the next clean.
    heartbeat(beating);
    journal(stateDir, id("a11ve"), { owner: alive, functions: ["fn-shared"], end: "succeeded" });
    const later = await superfaas(["clean", "--dry-run", "--state-dir", stateDir]);
    expect(removals(later.stdout)).toEqual(["a11ve000", "b5ta1e00"]);
    expect(later.stdout).toMatch(new RegExp(`^would remove run ${id("b5ta1e")} \\(interrupted pi on local, [^)]*\\): function fn-shared, journal$`, "m"));
  });

  it("--older-than takes 90s, 30m, 12h, 7d (and ms, fractions, 0) and measures from the run's start; other values are refused with one line", { timeout: 240_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "superfaas-clean-"));
    // Ages far from every threshold below (the runs age while the CLI processes start on a loaded machine).
    const ages: [string, number][] = [
      ["1000", 10_000],
      ["2000", 5 * 60_000],
      ["3000", 2 * 3_600_000],
      ["4000", 2 * 86_400_000],
      ["5000", 10 * 86_400_000],
    ];
    for (const [tag, age] of ages) journal(stateDir, id(tag), { owner: dead, startedAgoMs: age });
    const cleaned = async (...flag: string[]) => {
      const r = await superfaas(["clean", "--dry-run", ...flag, "--state-dir", stateDir]);
      expect(errorLines(r.stderr), flag.join(" ")).toEqual([]);
      expect(r.code).toBe(0);
      return removals(r.stdout).map((r) => r.slice(0, 4));
    };
    // Dry runs only read: side by side.
    const all = ["1000", "2000", "3000", "4000", "5000"];
    const cases: [string[], string[]][] = [
      [[], all],
      [["--older-than", "0"], all],
      [["--older-than", "500ms"], all],
      [["--older-than", "90s"], all.slice(1)],
      [["--older-than=30m"], all.slice(2)],
      [["--older-than", "12h"], all.slice(3)],
      [["--older-than", "1.5d"], all.slice(3)],
      [["--older-than", "7d"], all.slice(4)],
      [["--older-than", "30d"], []],
      // A bare number is seconds.
      [["--older-than", "3600"], all.slice(2)],
    ];
    const got = await Promise.all(cases.map(([flag]) => cleaned(...flag)));
    expect(got).toEqual(cases.map(([, want]) => want));

    const bad = ["5x", "-1s", "", "7 d", "1e3", "h", "30min", "1.5.2h", "Infinity"];
    const refused = await Promise.all(bad.map((b) => superfaas(["clean", "--older-than", b, "--state-dir", stateDir])));
    for (const [i, r] of refused.entries()) {
      expect(errorLines(r.stderr), bad[i]).toEqual([`error[BAD_INPUT]: invalid value ${JSON.stringify(bad[i])} for --older-than — --older-than takes a duration such as 0, 90s, 30m, 12h or 7d`]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
    }
    expect(readdirSync(join(stateDir, "runs"))).toHaveLength(5);
  });

  it("a state folder others can write is refused by runs, clean and resume with one line, and nothing in it is touched", { timeout: 240_000 }, async () => {
    for (const where of ["runs", "."]) {
      const stateDir = mkdtempSync(join(tmpdir(), "superfaas-clean-"));
      journal(stateDir, id("c0dead"), { owner: dead });
      chmodSync(join(stateDir, where), 0o777);
      const commands = [["runs"], ["clean"], ["clean", "--dry-run"], ["resume", "c0dead"]];
      const results = await Promise.all(commands.map((args) => superfaas([...args, "--state-dir", stateDir])));
      for (const [i, r] of results.entries()) {
        const args = commands[i]!;
        expect(errorLines(r.stderr), `${where}: ${args.join(" ")}`).toEqual([
          expect.stringMatching(/^error\[BAD_INPUT\]: the state directory \S+ is not private to this user \(a link, another user's, or writable by others\) — /),
        ]);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe("");
      }
      expect(readdirSync(join(stateDir, "runs"))).toEqual([`${id("c0dead")}.jsonl`]);
    }
  });
});
