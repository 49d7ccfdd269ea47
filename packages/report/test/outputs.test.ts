import { describe, expect, it } from "vitest";
import { compareOutputs, firstDifference } from "../src/outputs.js";

describe("firstDifference", () => {
  it("is null for equal JSON, whatever the key order", () => {
    expect(firstDifference({ a: 1, b: [1, { c: "x" }] }, { b: [1, { c: "x" }], a: 1 })).toBeNull();
    expect(firstDifference(0, -0)).toBeNull();
    expect(firstDifference({ a: 1, u: undefined }, { a: 1 })).toBeNull();
  });

  it("names the path of the first difference and both values", () => {
    expect(firstDifference({ hits: 10, kernels: ["wasm"] }, { hits: 10, kernels: ["js"] })).toBe('output.kernels[0]: "wasm" vs "js"');
    expect(firstDifference([1, 2], [1, 2, 3])).toBe("output: 2 items vs 3");
    expect(firstDifference({ a: 1 }, { a: 1, b: 2 })).toBe("output.b: missing vs 2");
    expect(firstDifference({ "odd key": 1 }, { "odd key": 2 })).toBe('output["odd key"]: 1 vs 2');
    expect(firstDifference({ a: [1] }, { a: { 0: 1 } })).toBe('output.a: [1] vs {"0":1}');
    expect(firstDifference("x".repeat(100), "y")).toMatch(/^output: "x{56}\.\.\. vs "y"$/);
  });
});

describe("compareOutputs", () => {
  const runs = (...outputs: unknown[]) => outputs.map((output, i) => ({ label: `b${i}`, output, hasOutput: output !== undefined }));

  it("checks every output against the first one there is", () => {
    const c = compareOutputs(runs(undefined, 5, 5, 6));
    expect(c.reference).toBe("b1");
    expect(c.agree).toBe(false);
    expect(c.outputs).toEqual([
      { label: "b0", agrees: null },
      { label: "b1", agrees: true },
      { label: "b2", agrees: true },
      { label: "b3", agrees: false, difference: "output: 5 vs 6" },
    ]);
  });

  it("uses the job's equal() when it has one", () => {
    const close = (a: unknown, b: unknown) => Math.abs((a as number) - (b as number)) < 1e-9;
    expect(compareOutputs(runs(1, 1 + 1e-12), close).agree).toBe(true);
    expect(compareOutputs(runs(1, 1 + 1e-12)).agree).toBe(false);
    const never = () => false;
    expect(compareOutputs(runs(1, 1), never).outputs[1]).toEqual({ label: "b1", agrees: false, difference: "the job's equal() says the outputs differ" });
  });

  it("has no reference when no run produced an output", () => {
    expect(compareOutputs(runs(undefined))).toEqual({ reference: null, agree: true, outputs: [{ label: "b0", agrees: null }] });
  });
});
