import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { defineJob, findJob, isJob } from "../src/job/job.js";

const job = defineJob({
  name: "sum",
  params: { n: { type: "count", default: 10, description: "how many" } },
  partition: (input, plan) => Array.from({ length: plan.tasks }, (_, i) => ({ i, n: input.n })),
  map: (t: { i: number; n: number }) => t.i * t.n,
  reduce: (partials: number[]) => partials.reduce((a, b) => a + b, 0),
});

describe("defineJob", () => {
  it("records the module that defines the job from the call site", () => {
    expect(job.modulePath).toBe(fileURLToPath(import.meta.url));
    expect(isJob(job)).toBe(true);
    expect(Object.isFrozen(job)).toBe(true);
  });
  it("takes an explicit module URL", () => {
    const j = defineJob({ name: "x", module: "file:///tmp/x.js", partition: () => [], map: () => 0, reduce: () => 0 });
    expect(j.modulePath).toBe("/tmp/x.js");
  });
  it("rejects malformed definitions with the offending field", () => {
    expect(() => defineJob({ name: "bad name!", partition: () => [], map: () => 0, reduce: () => 0 })).toThrow(/name: use letters/);
    expect(() => defineJob({ name: "x", partition: () => [], reduce: () => 0 } as never)).toThrow(/defineJob: map/);
  });
});

describe("findJob", () => {
  it("finds the only job, or the named one, and explains what is exported otherwise", () => {
    const other = defineJob({ name: "other", partition: () => [], map: () => 0, reduce: () => 0 });
    expect(findJob({ job, helper: 3 })).toBe(job);
    expect(findJob({ job, other }, "other")).toBe(other);
    expect(() => findJob({ job, other })).toThrow(/exports several jobs \(sum, other\)/);
    expect(() => findJob({ x: 1 }, undefined, "m.js")).toThrow(/m.js exports no job/);
    expect(() => findJob({ job }, "nope")).toThrow(/no job named "nope"/);
  });
});
