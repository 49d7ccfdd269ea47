import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defineJob, findRun, readJournal, RunError, run, runStatus, schedule, type Backend } from "../src/index.js";

const square = defineJob({
  name: "square",
  partition: (input: { n: number; big?: boolean }) => Array.from({ length: input.n }, (_, i) => ({ i, big: input.big ?? false })),
  // A big partial is over the journal's inline size: it goes to a file beside the journal.
  map: (t: { i: number; big: boolean }) => (t.big && t.i % 3 === 0 ? { v: t.i * t.i, pad: "x".repeat(70_000) } : { v: t.i * t.i }),
  reduce: (partials: { v: number }[]) => partials.map((p) => p.v).join(","),
});

/** A backend that runs map in this process and counts what it ran; `codeHash` stands for its bundle. */
function memoryBackend(codeHash = "aaaa") {
  const ran: number[] = [];
  const backend: Backend & { codeHash: string } = {
    name: "memory",
    facts: { defaultConcurrency: 4 },
    codeHash,
    prepare: async () => {},
    dispose: async () => {},
    async invoke(req) {
      ran.push(req.taskIndex);
      await new Promise((r) => setTimeout(r, 1));
      return { partial: square.map(req.task as never, { taskIndex: req.taskIndex, attempt: req.attempt, workerId: "w" }) };
    },
  };
  return { backend, ran };
}

const stateDir = () => mkdtempSync(join(tmpdir(), "superfaas-journal-"));

/** Runs `square` and cancels it once `stopAt` tasks are done; returns the run id. */
async function interrupted(dir: string, n: number, stopAt: number, big = false): Promise<string> {
  const { backend } = memoryBackend();
  const stop = new AbortController();
  let runId = "";
  await expect(
    run(square, { n, big }, { backend, stateDir: dir, concurrency: 2, signal: stop.signal, onStart: (s) => (runId = s.runId), onProgress: (e) => e.done >= stopAt && stop.abort() }),
  ).rejects.toBeInstanceOf(RunError);
  return runId;
}

describe("run journal", () => {
  it("a resumed run runs only the unfinished tasks and gives the output of an uninterrupted run, big partials included", async () => {
    const dir = stateDir();
    const whole = await run(square, { n: 30, big: true }, { backend: memoryBackend().backend, journal: false });
    const runId = await interrupted(dir, 30, 12, true);
    const before = findRun(dir, runId.slice(0, 8));
    expect(before.done.size).toBeGreaterThanOrEqual(12);
    expect(runStatus(before)).toBe("cancelled");
    const { backend, ran } = memoryBackend();
    const resumed = await run(square, undefined, { backend, stateDir: dir, resume: runId.slice(0, 8) });
    expect(resumed.output).toBe(whole.output);
    expect(ran.length).toBe(30 - before.done.size);
    expect(ran.every((i) => !before.done.has(i))).toBe(true);
    expect(resumed.report.runId).toBe(runId);
    expect(runStatus(findRun(dir, runId))).toBe("succeeded");
  });

  it("a torn last line and a damaged line are ignored: their tasks run again, the rest are kept", async () => {
    const dir = stateDir();
    const runId = await interrupted(dir, 20, 10);
    const path = join(dir, "runs", `${runId}.jsonl`);
    const lines = readFileSync(path, "utf8").split("\n");
    // Damage one record of results (a flipped digit fails its CRC) and tear the end of the file.
    const k = lines.findIndex((l) => l.includes('"r":[[') && l.includes("{"));
    lines[k] = lines[k]!.replace(/"v":(\d)/, (_, d: string) => `"v":${(Number(d) + 1) % 10}`);
    writeFileSync(path, lines.join("\n"));
    appendFileSync(path, '0badc0de {"t":"done","r":[[19,{"v":3');
    const state = readJournal(path);
    expect(state.corrupt).toBe(2);
    expect(state.done.has(19)).toBe(false);
    const { backend, ran } = memoryBackend();
    const resumed = await run(square, undefined, { backend, stateDir: dir, resume: runId });
    expect(resumed.output).toBe(Array.from({ length: 20 }, (_, i) => i * i).join(","));
    expect(ran.length).toBe(20 - state.done.size);
    // The resumed session cut the torn tail off before appending: the journal reads clean but for the damaged line.
    expect(readJournal(path).corrupt).toBe(1);
  });

  it("refuses to resume when the job's code changed, unless forced, and leaves the journal as it was", async () => {
    const dir = stateDir();
    const runId = await interrupted(dir, 10, 4);
    const path = join(dir, "runs", `${runId}.jsonl`);
    const size = statSync(path).size;
    const changed = memoryBackend("bbbb");
    const refused = run(square, undefined, { backend: changed.backend, stateDir: dir, resume: runId });
    await expect(refused).rejects.toMatchObject({ code: "RESUME_REFUSED", message: expect.stringMatching(/changed since the run started/) });
    expect(changed.ran).toEqual([]);
    expect(statSync(path).size).toBe(size);
    const forced = await run(square, undefined, { backend: changed.backend, stateDir: dir, resume: runId, force: true });
    expect(forced.output).toBe(Array.from({ length: 10 }, (_, i) => i * i).join(","));
  });

  it("refuses to resume a run that is still alive, and an unknown id with the runs to pick from", async () => {
    const dir = stateDir();
    const { backend } = memoryBackend();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Backend = { ...backend, invoke: async (req, s) => (await gate, backend.invoke(req, s)) };
    let runId = "";
    const live = run(square, { n: 4 }, { backend: slow, stateDir: dir, onStart: (s) => (runId = s.runId) });
    await expect.poll(() => runId).not.toBe("");
    expect(runStatus(findRun(dir, runId))).toBe("running");
    await expect(run(square, undefined, { backend, stateDir: dir, resume: runId })).rejects.toMatchObject({ code: "RESUME_REFUSED", message: expect.stringMatching(/still running/) });
    release();
    await live;
    await expect(run(square, undefined, { backend, stateDir: dir, resume: "nope" })).rejects.toMatchObject({ code: "UNKNOWN_RUN" });
  });

  it("--no-journal (journal: false) writes nothing", async () => {
    const dir = stateDir();
    const r = await run(square, { n: 3 }, { backend: memoryBackend().backend, stateDir: dir, journal: false });
    expect(() => findRun(dir, r.report.runId)).toThrow(/no run/);
  });
});

describe("scheduler hooks for durable runs", () => {
  it("counts a task as done only once its result is committed, and never runs tasks given as completed", async () => {
    const { backend, ran } = memoryBackend();
    const events: string[] = [];
    const pending: (() => void)[] = [];
    const tasks = Array.from({ length: 6 }, (_, i) => ({ i, big: false }));
    const result = schedule(tasks, backend, {
      concurrency: 2,
      timeoutMs: 10_000,
      retries: 0,
      completed: new Map([
        [1, { v: -1 }],
        [4, { v: -4 }],
      ]),
      onResult: (i, _p, committed) => {
        events.push(`result ${i}`);
        pending.push(() => {
          events.push(`commit ${i}`);
          committed();
        });
      },
      onProgress: (e) => e.type === "succeeded" && events.push(`done ${e.taskIndex} (${e.done})`),
    });
    await expect.poll(() => pending.length).toBe(4);
    expect(events.filter((e) => e.startsWith("done"))).toEqual([]);
    for (const c of pending) c();
    const r = await result;
    expect(ran.sort()).toEqual([0, 2, 3, 5]);
    expect((r.partials as { v: number }[]).map((p) => p.v)).toEqual([0, -1, 4, 9, -4, 25]);
    expect(events.slice(-2)).toEqual(["commit 5", "done 5 (6)"]);
  });
});
