import { defineJob, splitRange, type RunReport } from "@superfaas/core";
import { countHits, kernelName, type KernelChoice } from "./kernel/index.js";

/** One pi task: count the hits among points [start, start+count) of the seed's stream. */
export interface PiTask {
  seed: number;
  start: number;
  count: number;
  /** Travels with the task because `map` runs remotely, where the caller's flags and environment are not. */
  kernel: KernelChoice;
}

/** One task's result. */
export interface PiPartial {
  hits: number;
  count: number;
  kernel: string;
}

/** The estimate: a pure function of (points, seed), identical for any task count and on any backend. */
export interface PiOutput {
  points: number;
  seed: number;
  hits: number;
  estimate: number;
  absError: number;
  /** One standard error of the estimate, 4·sqrt(p(1-p)/N) with p = hits/N. */
  stdError: number;
  kernels: string[];
}

/** Monte Carlo estimate of pi: the fraction of points of the unit square inside the quarter circle, times four. */
export const pi = defineJob({
  name: "pi",
  description: "Monte Carlo estimate of pi with a counter-based generator",
  // The same task gives the same partial on every attempt: slow tasks may get a backup attempt.
  deterministic: true,
  params: {
    points: { type: "count", default: 2_000_000_000, description: "number of random points", min: 1 },
    seed: { type: "integer", default: 42, description: "seed of the point stream (0 to 4294967295)", min: 0, max: 0xffffffff },
    kernel: {
      type: "string",
      default: "wasm",
      choices: ["wasm", "js"],
      description: "hit counter: wasm (WebAssembly SIMD, plain JS where the runtime lacks SIMD) or js (plain JS); same hits either way",
    },
  },
  partition: (input, plan): PiTask[] =>
    splitRange(input.points, plan.tasks).map((r) => ({ seed: input.seed, start: r.start, count: r.count, kernel: input.kernel })),
  map: (task: PiTask): PiPartial => ({
    hits: countHits(task.seed, task.start, task.count, task.kernel),
    count: task.count,
    kernel: kernelName(task.kernel),
  }),
  reduce(partials: PiPartial[], input): PiOutput {
    let hits = 0;
    let points = 0;
    for (const p of partials) {
      hits += p.hits;
      points += p.count;
    }
    const p = hits / points;
    const estimate = 4 * p;
    return {
      points,
      seed: input.seed,
      hits,
      estimate,
      absError: Math.abs(estimate - Math.PI),
      stdError: 4 * Math.sqrt((p * (1 - p)) / points),
      kernels: [...new Set(partials.map((x) => x.kernel))],
    };
  },
  // Backends may run different kernels (WASM SIMD or plain JS); the count, not the kernel's name, must agree.
  equal: (a: PiOutput, b: PiOutput) => a.points === b.points && a.seed === b.seed && a.hits === b.hits,
  metrics: (output: PiOutput, report: RunReport) => {
    const seconds = report.executeMs / 1000;
    return {
      pointsPerSec: output.points / seconds,
      pointsPerSecPerWorker: output.points / seconds / report.concurrency,
    };
  },
  format: (o: PiOutput, m) =>
    [
      `pi ≈ ${o.estimate.toFixed(10)}  (error ${o.absError.toExponential(2)}, standard error ${o.stdError.toExponential(2)}, ${(o.absError / o.stdError).toFixed(2)} σ)`,
      `${o.points.toExponential(3)} points, seed ${o.seed}, ${o.hits} hits, kernel ${o.kernels.join("+")}` +
        (typeof m.pointsPerSec === "number" ? `, ${(m.pointsPerSec / 1e6).toFixed(1)} M points/s` : ""),
    ].join("\n"),
});
