import { describe, expect, it } from "vitest";
import { costSweep, defineJob, gbSeconds, invocationCost, paretoFront, sampleIndices, SuperfaasError, type Backend, type SweepConfiguration } from "../src/index.js";

// us-east-1 on-demand, first tier (the figures of backend-lambda's price table), written out here by hand.
const X86 = { gbSecondUsd: 0.0000166667, requestUsd: 0.0000002 };
const ARM = { gbSecondUsd: 0.0000133334, requestUsd: 0.0000002 };

describe("the cost math", () => {
  it("prices billed milliseconds at memory / 1024 GB plus one request charge per invocation, as hand-computed", () => {
    // 1024 MB, three invocations billed 1000 + 1500 + 2500 ms: 5 GB-s × $0.0000166667 + 3 × $0.0000002.
    expect(gbSeconds(5000, 1024)).toBe(5);
    expect(invocationCost({ invocations: 3, billedMs: 5000 }, 1024, X86)).toBeCloseTo(0.0000833335 + 0.0000006, 15);
    // arm64 at 2048 MB, one cold invocation: Duration 800.2 ms + Init Duration 200.3 ms = 1000.5, billed 1001 ms
    // (rounded up to the ms, init included): 2.002 GB-s × $0.0000133334 + $0.0000002.
    expect(invocationCost({ invocations: 1, billedMs: 1001 }, 2048, ARM)).toBeCloseTo(0.0000266934668 + 0.0000002, 15);
    // 128 MB, 100 ms: 0.0125 GB-s × $0.0000166667 + $0.0000002.
    expect(invocationCost({ invocations: 1, billedMs: 100 }, 128, X86)).toBeCloseTo(2.0833375e-7 + 2e-7, 18);
    // 10,240 MB (the most Lambda gives), one second: 10 GB-s.
    expect(invocationCost({ invocations: 1, billedMs: 1000 }, 10240, X86)).toBeCloseTo(0.000166667 + 0.0000002, 15);
  });

  it("spreads a sample evenly over the job, and takes every task when the sample is as large as the job", () => {
    expect(sampleIndices(100, 4)).toEqual([12, 37, 62, 87]);
    expect(sampleIndices(10, 3)).toEqual([1, 5, 8]);
    expect(sampleIndices(5, 9)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(sampleIndices(1000, 999)).size).toBe(999);
  });

  it("keeps on the Pareto front only what no other point beats in both time and cost", () => {
    const pts = [
      { n: "a", t: 100, c: 5 },
      { n: "b", t: 50, c: 6 },
      { n: "c", t: 120, c: 6 },
      { n: "d", t: 50, c: 7 },
      { n: "e", t: 30, c: 9 },
    ];
    const front = paretoFront(pts, (p) => p.t, (p) => p.c);
    expect([...front].map((p) => p.n).sort()).toEqual(["a", "b", "e"]);
  });
});

const squares = defineJob({
  name: "squares",
  partition: (input: { n: number }, plan) => Array.from({ length: plan.tasks }, (_, i) => ({ from: Math.floor((i * input.n) / plan.tasks), to: Math.floor(((i + 1) * input.n) / plan.tasks) })),
  map: (t: { from: number; to: number }) => {
    let s = 0;
    for (let i = t.from; i < t.to; i++) s += i * i;
    return s;
  },
  reduce: (partials: number[]) => partials.reduce((a, b) => a + b, 0),
});

/** A platform whose CPU grows with memory up to 1,769 MB (one vCPU), as Lambda's: work takes 1,769 / memory as long below it. */
function fakePlatform(memoryMb: number, log: { seen: Map<number, unknown[]>; disposed: number[] }, opts: { refuse?: string; wrong?: boolean } = {}): Backend {
  return {
    name: "fake",
    facts: { defaultConcurrency: 2 },
    async prepare() {
      if (opts.refuse) throw new SuperfaasError("BACKEND_CONFIG", opts.refuse, "lower the memory");
    },
    async invoke(req) {
      const t = req.task as { from: number; to: number };
      (log.seen.get(memoryMb) ?? log.seen.set(memoryMb, []).get(memoryMb)!).push(req.task);
      let s = 0;
      for (let i = t.from; i < t.to; i++) s += i * i;
      const work = 1000 * Math.max(1, 1769 / memoryMb);
      return { partial: opts.wrong ? s + 1 : s, durationMs: work, billedMs: Math.ceil(work) };
    },
    async dispose() {
      log.disposed.push(memoryMb);
    },
  };
}

function configs(sizes: number[], log: { seen: Map<number, unknown[]>; disposed: number[] }, special: Record<number, { refuse?: string; wrong?: boolean }> = {}): SweepConfiguration[] {
  return sizes.map((mb) => ({ label: `${mb} MB`, memoryMb: mb, price: X86, createBackend: () => fakePlatform(mb, log, special[mb]) }));
}

describe("costSweep", () => {
  it("runs the same sampled tasks at every configuration, prices them from the billed durations, and picks the cheapest, fastest and balanced", async () => {
    const log = { seen: new Map<number, unknown[]>(), disposed: [] as number[] };
    const r = await costSweep(squares, { n: 1000 }, { configurations: configs([512, 1769, 3538], log), tasks: 20, sample: 4, maxSlowdown: 1.5 });
    expect(r.totalTasks).toBe(20);
    expect(r.sampled).toEqual([2, 7, 12, 17]);
    // The same four tasks everywhere, the ones of those indices in the whole job's partition.
    const expected = [2, 7, 12, 17].map((i) => ({ from: i * 50, to: (i + 1) * 50 }));
    for (const mb of [512, 1769, 3538]) expect(log.seen.get(mb)).toEqual(expected);
    expect(log.disposed).toEqual([512, 1769, 3538]);
    const [small, one, two] = r.configurations;
    // 512 MB: 1000 × 1769/512 = 3455.078 ms, billed 3456 ms a task.
    expect(small!.measure).toMatchObject({ tasks: 4, invocations: 4, billedMs: 4 * 3456, billedMsPerTask: 3456 });
    expect(small!.measure!.taskMs.p50).toBeCloseTo(3455.078, 2);
    expect(small!.measure!.costPerTaskUsd).toBeCloseTo(3.456 * 0.5 * 0.0000166667 + 0.0000002, 15);
    expect(small!.measure!.jobCostUsd).toBeCloseTo(20 * (3.456 * 0.5 * 0.0000166667 + 0.0000002), 14);
    // 1769 MB: 1000 ms; 3538 MB: as fast (no more CPU for one thread), twice the price.
    expect(one!.measure!.costPerTaskUsd).toBeCloseTo(1 * (1769 / 1024) * 0.0000166667 + 0.0000002, 15);
    expect(two!.measure!.costPerTaskUsd).toBeCloseTo(1 * (3538 / 1024) * 0.0000166667 + 0.0000002, 15);
    expect(r.recommendation).toEqual({ basis: "usd", maxSlowdown: 1.5, cheapest: "1769 MB", fastest: "1769 MB", balanced: "1769 MB" });
    expect(r.configurations.map((c) => c.pareto)).toEqual([false, true, false]);
    // The sampled partials agree everywhere.
    expect(r.agree).toBe(true);
    expect(r.reference).toBe("512 MB");
    expect(small!.output).toEqual(expected.map((t) => squares.map(t, { taskIndex: 0, attempt: 1, workerId: "" })));
  });

  it("reports a configuration the platform refuses with its message, runs the others, and flags an output that differs", async () => {
    const log = { seen: new Map<number, unknown[]>(), disposed: [] as number[] };
    const r = await costSweep(squares, { n: 100 }, {
      configurations: configs([128, 4096, 1024], log, { 4096: { refuse: "memory 4096 is over the account's 3008 MB" }, 1024: { wrong: true } }),
      tasks: 3,
    });
    expect(r.configurations.map((c) => c.status)).toEqual(["succeeded", "refused", "succeeded"]);
    expect(r.configurations[1]!.error).toEqual({ code: "BACKEND_CONFIG", message: "memory 4096 is over the account's 3008 MB", hint: "lower the memory" });
    expect(log.disposed).toEqual([128, 4096, 1024]);
    expect(r.agree).toBe(false);
    expect(r.configurations[2]).toMatchObject({ agrees: false });
    expect(r.configurations[2]!.difference).toMatch(/^328350 vs 328353/);
    // A sample as large as the job is the whole job: its output (reduced) is compared, not the partials.
    const whole = await costSweep(squares, { n: 100 }, { configurations: configs([128], log), tasks: 3, sample: 5 });
    expect(whole.sampled).toBeUndefined();
    expect(whole.configurations[0]!.output).toBe(328350);
    expect(whole.totalTasks).toBe(3);
    // Without prices, cost is compared in GB-seconds.
    const noPrice = await costSweep(squares, { n: 100 }, { configurations: configs([128, 256], log).map(({ price: _p, ...c }) => c), tasks: 2 });
    expect(noPrice.recommendation.basis).toBe("gb-seconds");
    expect(noPrice.configurations[0]!.measure!.costUsd).toBeUndefined();
    expect(noPrice.configurations[0]!.measure!.gbSeconds).toBeCloseTo(2 * 13.821 * 0.125, 3);
  });

  it("stops when cancelled, disposing the configuration that was running and starting no other", async () => {
    const log = { seen: new Map<number, unknown[]>(), disposed: [] as number[] };
    const ac = new AbortController();
    const slow: SweepConfiguration[] = [256, 512].map((mb) => ({
      label: `${mb} MB`,
      memoryMb: mb,
      createBackend: () => {
        const b = fakePlatform(mb, log);
        return { ...b, invoke: (_req, signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })) } as Backend;
      },
    }));
    setTimeout(() => ac.abort(), 50);
    const e = await costSweep(squares, { n: 10 }, { configurations: slow, tasks: 2, signal: ac.signal }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(SuperfaasError);
    expect((e as SuperfaasError).code).toBe("CANCELLED");
    expect(log.disposed).toEqual([256]);
  });
});
