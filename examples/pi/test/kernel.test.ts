import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { countHits, countHitsJs, countHitsWasm, kernelName, wasmAvailable } from "../src/kernel/index.js";
import { blockKeys, exactHit, mix32 } from "../src/kernel/js.js";
import { countHitsReference, pointReference } from "../src/kernel/reference.js";
import { wasmBytesModule } from "../scripts/build-wasm.mjs";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const TWO32 = 2 ** 32;
const TWO53 = 2 ** 53;

/** Coordinates of point i, computed with the fast scalar helpers (checked against pointReference below). */
function point(seed: number, i: number): { x: number; y: number } {
  const hi = Math.floor(i / TWO32);
  const lo = (i - hi * TWO32) | 0;
  const [a, b, c, d] = blockKeys(seed, hi);
  return {
    x: mix32((mix32((lo + a) | 0) + b) | 0) >>> 0,
    y: mix32((mix32((lo + c) | 0) + d) | 0) >>> 0,
  };
}

/** Points that the 32-bit filter of the fast kernels cannot decide, split by their exact outcome. */
function unsurePoints(seed: number, from: number, want: number): { hits: number[]; misses: number[] } {
  const hits: number[] = [];
  const misses: number[] = [];
  for (let i = from; hits.length < want || misses.length < want; i++) {
    const { x, y } = point(seed, i);
    const xt = x >>> 17;
    const yt = y >>> 17;
    const d = xt * xt + yt * yt;
    if (d > 2 ** 30 - 131070 && d < 2 ** 30) (exactHit(x, y) ? hits : misses).push(i);
  }
  return { hits: hits.slice(0, want), misses: misses.slice(0, want) };
}

const seedArb = fc.integer({ min: 0, max: 0xffffffff });
/** Ranges near zero, straddling 2^32 (and k * 2^32), or anywhere below 2^53. */
const rangeArb = (maxCount: number) =>
  fc.oneof(
    fc.record({ start: fc.integer({ min: 0, max: 100_000 }), count: fc.integer({ min: 0, max: maxCount }) }),
    fc
      .record({ k: fc.integer({ min: 1, max: 2 ** 20 }), back: fc.integer({ min: 0, max: maxCount }), count: fc.integer({ min: 0, max: maxCount }) })
      .map(({ k, back, count }) => ({ start: k * TWO32 - back, count })),
    fc
      .record({ start: fc.integer({ min: 0, max: TWO53 - 1 - maxCount }), count: fc.integer({ min: 0, max: maxCount }) })
      .map((r) => ({ start: Math.min(r.start, TWO53 - r.count), count: r.count })),
  );

describe("pi kernel", () => {
  it("runs WebAssembly SIMD in Node", () => {
    expect(wasmAvailable()).toBe(true);
    expect(kernelName()).toBe("wasm-simd");
  });

  it("the fast point helper matches the BigInt reference, including across 2^32 and at 2^53 - 1", () => {
    for (const [seed, i] of [[42, 0], [0, TWO32 - 1], [0, TWO32], [7, 3 * TWO32 + 5], [0xffffffff, TWO53 - 1]] as const) {
      const r = pointReference(seed, i);
      const p = point(seed, i);
      expect([BigInt(p.x), BigInt(p.y)]).toEqual([r.x, r.y]);
    }
  });

  it("keeps the stream's definition (pinned values)", () => {
    expect(pointReference(42, 0)).toEqual({ x: 2355707131n, y: 43706320n });
    expect(pointReference(0xffffffff, TWO53 - 1)).toEqual({ x: 1125846765n, y: 192257228n });
    expect(countHitsReference(42, 0, 1000)).toBe(791);
    expect(countHitsReference(1, TWO32 - 500, 1000)).toBe(791);
    expect(countHitsWasm(2024, 0, 1e8)).toBe(78545708);
    expect(countHitsWasm(7, 2 ** 40, 1e8)).toBe(78544628);
  });

  it("JS == WASM == reference for tiny counts 0..40 at awkward starts", () => {
    for (const start of [0, 1, 3, 15, 16, 17, TWO32 - 20, TWO32 - 1, TWO32, 5 * TWO32 - 7, TWO53 - 45]) {
      for (let count = 0; count <= 40; count++) {
        const ref = countHitsReference(9, start, count);
        expect([countHitsJs(9, start, count), countHitsWasm(9, start, count)]).toEqual([ref, ref]);
      }
    }
  });

  it("JS == WASM == reference on random (seed, start, count), many crossing 2^32", () => {
    fc.assert(
      fc.property(seedArb, rangeArb(2500), (seed, { start, count }) => {
        const ref = countHitsReference(seed, start, count);
        return countHitsJs(seed, start, count) === ref && countHitsWasm(seed, start, count) === ref;
      }),
      { numRuns: 120 },
    );
  });

  it("decides the points its 32-bit filter is unsure about exactly, in every lane position", () => {
    const { hits, misses } = unsurePoints(5, 0, 24);
    for (const i of hits) expect(countHitsReference(5, i, 1)).toBe(1);
    for (const i of misses) expect(countHitsReference(5, i, 1)).toBe(0);
    [...hits, ...misses].forEach((i, k) => {
      // A range that puts the point at offset 16..31, in lane k mod 4 of vector (k/4) mod 4 of the SIMD loop's
      // second iteration (not in the scalar tail).
      const start = i - 16 - (k % 16);
      const ref = countHitsReference(5, start, 80);
      expect([countHitsJs(5, start, 80), countHitsWasm(5, start, 80)]).toEqual([ref, ref]);
    });
  });

  it("counts the SIMD iterations that straddle a multiple of 2^16 in the mixer inputs lo + A and lo + C", () => {
    for (const seed of [12, 0xfffffff0]) {
      const [a, , c] = blockKeys(seed, 1);
      for (const key of [a, c]) {
        // lo + key = 0 (mod 2^16) at lo = boundary; start a few points before it so an iteration crosses it.
        const boundary = TWO32 + 5 * 65536 + ((-key) & 0xffff);
        for (const back of [1, 7, 8, 15, 16, 17]) {
          const start = boundary - back;
          const ref = countHitsReference(seed, start, 64);
          expect([countHitsWasm(seed, start, 64), countHitsJs(seed, start, 64)]).toEqual([ref, ref]);
        }
      }
    }
  });

  it("JS == WASM on larger ranges, across 2^32 and far out", () => {
    for (const [seed, start, count] of [
      [1, TWO32 - 1_500_000, 3_000_001],
      [0xffffffff, 2 ** 45 + 12345, 2_000_000],
      [77, TWO53 - 1_000_003, 1_000_003],
    ] as const) {
      expect(countHitsWasm(seed, start, count)).toBe(countHitsJs(seed, start, count));
    }
  });

  it("gives the same total for any split of a range into tasks (property)", () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 0, max: 2 ** 21 - 1 }).map((k) => k * TWO32 - 300_000),
        fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 1, maxLength: 8 }),
        (seed, origin, pieces) => {
          const start = Math.max(0, origin);
          const total = pieces.reduce((s, n) => s + n, 0);
          let at = start;
          let sumWasm = 0;
          let sumJs = 0;
          for (const n of pieces) {
            sumWasm += countHitsWasm(seed, at, n);
            sumJs += countHitsJs(seed, at, n);
            at += n;
          }
          const whole = countHitsWasm(seed, start, total);
          return sumWasm === whole && sumJs === whole;
        },
      ),
      { numRuns: 40 },
    );
  });

  it("looks uniform: x and y top bytes, the (x, y) grid, and the hit fraction", () => {
    const n = 1 << 20;
    const bx = new Float64Array(256);
    const by = new Float64Array(256);
    const grid = new Float64Array(256);
    for (let i = 0; i < n; i++) {
      const { x, y } = point(31, TWO32 - n / 2 + i);
      bx[x >>> 24]! += 1;
      by[y >>> 24]! += 1;
      grid[((x >>> 28) << 4) | (y >>> 28)]! += 1;
    }
    const chi2 = (bins: Float64Array) => {
      const e = n / bins.length;
      return bins.reduce((s, o) => s + (o - e) ** 2 / e, 0);
    };
    // 255 degrees of freedom: mean 255, standard deviation sqrt(510) ~ 22.6; allow 5 sigma.
    for (const bins of [bx, by, grid]) expect(chi2(bins)).toBeLessThan(255 + 5 * Math.sqrt(510));
    const points = 10_000_000;
    for (const seed of [3, 0xdeadbeef]) {
      const p = countHits(seed, TWO32 - points / 2, points) / points;
      const sigma = Math.sqrt((Math.PI / 4) * (1 - Math.PI / 4) / points);
      expect(Math.abs(p - Math.PI / 4)).toBeLessThan(5 * sigma);
    }
  });

  it("rejects bad arguments", () => {
    for (const f of [countHits, countHitsJs, countHitsWasm]) {
      expect(() => f(-1, 0, 1)).toThrow(RangeError);
      expect(() => f(2 ** 32, 0, 1)).toThrow(RangeError);
      expect(() => f(1, -1, 1)).toThrow(RangeError);
      expect(() => f(1, 0, 1.5)).toThrow(RangeError);
      expect(() => f(1, TWO53, 1)).toThrow(RangeError);
      expect(() => f(1, TWO53 - 1, 2)).toThrow(RangeError);
      expect(f(1, TWO53 - 1, 1)).toBe(countHitsReference(1, TWO53 - 1, 1));
    }
  });

  it("runs the JavaScript kernel when the js kernel is chosen, with the same hits", () => {
    expect(kernelName("js")).toBe("js");
    expect(kernelName("wasm")).toBe("wasm-simd");
    expect(countHits(4, TWO32 - 10, 100, "js")).toBe(countHitsWasm(4, TWO32 - 10, 100));
  });

  it("ships wasm-bytes.ts compiled from the current pi.wat", async () => {
    const wat = await readFile(join(root, "src", "kernel", "pi.wat"), "utf8");
    const shipped = await readFile(join(root, "src", "kernel", "wasm-bytes.ts"), "utf8");
    expect(await wasmBytesModule(wat)).toBe(shipped);
  });

  describe("native C kernel (kernel/pi.c)", () => {
    const gcc = spawnSync("gcc", ["--version"]).status === 0;
    it.skipIf(!gcc)("gives the same hits as WebAssembly (skipped when gcc is not on PATH)", async () => {
      const dir = await mkdtemp(join(tmpdir(), "superfaas-pi-c-"));
      try {
        const exe = join(dir, "pi");
        await run("gcc", ["-O3", "-march=native", "-o", exe, join(root, "kernel", "pi.c")]);
        for (const [seed, start, count] of [
          [42, 0, 1_000_003],
          [0xffffffff, TWO32 - 500_000, 1_000_000],
          [7, 2 ** 40 + 3, 17],
          [0, TWO53 - 100_000, 100_000],
          [5, 0, 0],
        ] as const) {
          const { stdout } = await run(exe, [String(seed), String(start), String(count)]);
          const out = JSON.parse(stdout) as { hits: number; seconds: number; pointsPerSec: number };
          expect(out.hits).toBe(countHitsWasm(seed, start, count));
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
