import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, type Backend } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { pi, type PiOutput } from "../src/index.js";

describe("pi job", () => {
  let backend: Backend;
  beforeAll(() => {
    backend = localBackend({ workers: 2 });
  });
  afterAll(() => backend.dispose());

  const estimate = async (points: number, seed: number, tasks: number) =>
    (await run(pi, { points, seed }, { backend, tasks })).output as PiOutput;

  it("gives bit-identical hit counts for 1, 7 and 64 tasks", async () => {
    const counts = await Promise.all([1, 7, 64].map(async (t) => (await estimate(3_000_017, 11, t)).hits));
    expect(new Set(counts).size).toBe(1);
  });

  it("gives identical counts for a range far from zero split differently (no 2^32 aliasing)", async () => {
    // 5e9 points cross the 2^32 boundary of the point index; the count must not depend on where tasks cut.
    const a = (await run(pi, { points: 5_000_000_000, seed: 3 }, { backend, tasks: 2 })).output as PiOutput;
    const b = (await run(pi, { points: 5_000_000_000, seed: 3 }, { backend, tasks: 5 })).output as PiOutput;
    expect(a.hits).toBe(b.hits);
  }, 120_000);

  it("lands within 4 standard errors of pi for several seeds", async () => {
    for (const seed of [0, 1, 42, 2024, 0xffffffff]) {
      const o = await estimate(20_000_000, seed, 4);
      expect(Math.abs(o.estimate - Math.PI)).toBeLessThan(4 * o.stdError);
      expect(o.stdError).toBeCloseTo(4 * Math.sqrt((Math.PI / 4) * (1 - Math.PI / 4) / 20_000_000), 6);
    }
  });

  it("gives different streams for different seeds", async () => {
    const [a, b] = await Promise.all([estimate(1_000_000, 1, 2), estimate(1_000_000, 2, 2)]);
    expect(a.hits).not.toBe(b.hits);
  });

  it("reports points per second and formats a human line", async () => {
    const { output, report } = await run(pi, { points: 1_000_000, seed: 5 }, { backend, tasks: 2 });
    expect(report.metrics.pointsPerSec).toBeGreaterThan(0);
    const text = pi.format!(output as PiOutput, report.metrics);
    expect(text).toMatch(/^pi ≈ 3\.\d{10}/);
    expect(text).toMatch(/M points\/s/);
  });

  it("gives the same hits with the js and the wasm kernel, and names the one that ran", async () => {
    const [js, wasm] = await Promise.all(
      (["js", "wasm"] as const).map(async (kernel) => (await run(pi, { points: 2_000_003, seed: 9, kernel }, { backend, tasks: 3 })).output as PiOutput),
    );
    expect(js.hits).toBe(wasm.hits);
    expect(js.kernels).toEqual(["js"]);
    expect(wasm.kernels).toEqual(["wasm-simd"]);
  });

  it("rejects a kernel that does not exist, naming the choices", async () => {
    await expect(run(pi, { points: 10, seed: 1, kernel: "gpu" as "js" }, { backend })).rejects.toThrow(/invalid value "gpu" for kernel: not one of wasm, js/);
  });

  it("rejects a seed outside 32 bits and zero points", async () => {
    await expect(run(pi, { points: 10, seed: 2 ** 32 }, { backend })).rejects.toThrow(/above the maximum 4294967295/);
    await expect(run(pi, { points: 0, seed: 1 }, { backend })).rejects.toThrow(/below the minimum 1/);
  });
});
