import { describe, expect, it } from "vitest";
import { assertJson, findNonJson } from "../src/job/json.js";

describe("JSON checks", () => {
  it("accepts plain JSON values", () => {
    expect(findNonJson({ a: [1, "x", null, true, { b: -0.5 }] })).toBeNull();
    expect(findNonJson(Object.create(null))).toBeNull();
  });
  it("names the path and the reason for values JSON cannot hold", () => {
    expect(findNonJson({ a: [1, undefined] })).toBe(".a[1] is undefined, which JSON cannot hold");
    expect(findNonJson({ n: NaN })).toBe(".n is NaN, which JSON cannot hold");
    expect(findNonJson({ b: 10n })).toBe(".b is a BigInt, which JSON cannot hold");
    expect(findNonJson({ m: new Map() })).toBe(".m is a Map, not a plain object");
    expect(findNonJson({ f: () => 1 })).toBe(".f is a function, which JSON cannot hold");
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(findNonJson(loop)).toBe(".self is a circular reference");
  });
  it("lets shared (non-circular) references through", () => {
    const shared = { x: 1 };
    expect(findNonJson({ a: shared, b: shared })).toBeNull();
  });
  it("throws NOT_JSON naming the offending task", () => {
    expect(() => assertJson({ d: new Date() }, "task 3")).toThrow(/task 3 is not JSON-serializable: \.d is a Date/);
  });
});
