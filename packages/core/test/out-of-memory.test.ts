import { describe, expect, it } from "vitest";
import { OPTION_NAMES, outOfMemoryError, schedule, type Backend, type OptionNames } from "../src/index.js";

const oom = { memoryMb: 512, what: "function memory", setting: "--memory", maxMb: 10240, evidence: "Runtime.OutOfMemory: killed" };

function backendFailing(memoryMb: number): Backend & { calls: number[] } {
  const b = {
    name: "hungry",
    facts: { defaultConcurrency: 2 },
    calls: [] as number[],
    prepare: async () => {},
    dispose: async () => {},
    async invoke(req: { taskIndex: number }) {
      b.calls.push(req.taskIndex);
      if (req.taskIndex === 2) throw outOfMemoryError({ ...oom, memoryMb });
      await new Promise((r) => setTimeout(r, 5));
      return { partial: req.taskIndex };
    },
  };
  return b;
}

describe("a task that runs out of memory", () => {
  it("fails the run as OUT_OF_MEMORY at its first attempt, whatever the retry budget, naming the task, the memory and the setting", async () => {
    const b = backendFailing(512);
    const r = await schedule([0, 1, 2, 3], b, { concurrency: 2, timeoutMs: 5_000, retries: 5, backoff: { baseMs: 1, maxMs: 2 } });
    expect(r.failure?.code).toBe("OUT_OF_MEMORY");
    expect(r.failure?.message).toBe("task 2 ran out of memory: function memory 512 MB (Runtime.OutOfMemory: killed); not retried, the same memory would run out again");
    expect(r.failure?.hint).toBe("raise --memory above 512 (at most 10240), or split the work into more, smaller tasks with tasks");
    expect(b.calls.filter((i) => i === 2)).toHaveLength(1);
    expect(r.records[2]).toMatchObject({ attempts: 1, status: "failed" });
    expect(r.retries).toBe(0);
  });

  it("says so when the memory is at the platform's most already, and words the task option as the front end's flag", async () => {
    const r = await schedule([0, 1, 2], backendFailing(10240), { concurrency: 1, timeoutMs: 5_000, retries: 1 });
    const flags: OptionNames = { ...OPTION_NAMES, name: (o) => `--${o}` };
    expect(r.failure?.reworded(flags).hint).toBe("--memory is at the platform's most already: split the work into more, smaller tasks with --tasks");
  });

  it("is not retryable and carries what it had", () => {
    const e = outOfMemoryError(oom);
    expect(e).toMatchObject({ retryable: false, origin: "platform", outOfMemory: oom });
    expect(e.message).toBe("ran out of memory (function memory 512 MB): Runtime.OutOfMemory: killed");
  });
});
