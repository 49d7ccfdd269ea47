import { describe, expect, it } from "vitest";
import { coerceParam, parseCount, resolveParams } from "../src/job/params.js";

describe("parseCount", () => {
  it("accepts plain, scientific and underscored counts", () => {
    expect(parseCount("1000000000")).toBe(1e9);
    expect(parseCount("1e9")).toBe(1e9);
    expect(parseCount("1_000_000_000")).toBe(1e9);
    expect(parseCount("2.5e6")).toBe(2_500_000);
    expect(parseCount("1E11")).toBe(1e11);
    expect(parseCount("0")).toBe(0);
  });
  it("rejects negatives, fractions, words and numbers past 2^53", () => {
    for (const bad of ["-1", "1.5", "abc", "", "1e400", "1e16", "0x10", "1e-3", "NaN"]) expect(parseCount(bad)).toBeNaN();
  });
});

describe("job parameters", () => {
  const specs = {
    points: { type: "count", default: 100, description: "points" },
    seed: { type: "integer", default: 1, description: "seed", min: 0, max: 2 ** 32 - 1 },
    name: { type: "string", default: "x", description: "name" },
  } as const;
  it("fills defaults and coerces CLI strings", () => {
    expect(resolveParams(specs, {})).toEqual({ points: 100, seed: 1, name: "x" });
    expect(resolveParams(specs, { points: "1e6", seed: "42" })).toEqual({ points: 1e6, seed: 42, name: "x" });
  });
  it("names the flag and the expected form in errors", () => {
    expect(() => resolveParams(specs, { points: "-5" })).toThrow(/invalid value "-5" for points/);
    expect(() => coerceParam("seed", specs.seed, "-1")).toThrow(/below the minimum 0/);
    expect(() => resolveParams(specs, { points: "lots" })).toThrow(
      expect.objectContaining({ hint: expect.stringContaining("--points takes a whole number such as 1000000, 1e6 or 1_000_000") }),
    );
    expect(() => resolveParams(specs, { pionts: 3 })).toThrow(/unknown parameter "pionts"/);
  });
});
