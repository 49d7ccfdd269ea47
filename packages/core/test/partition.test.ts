import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { chunkByCount, chunkBySize, jsonBytes, resolveTaskCount, splitRange } from "../src/job/partition.js";

function checkRanges(total: number, parts: number, start: number) {
  const ranges = splitRange(total, parts, start);
  expect(ranges.length).toBe(Math.min(parts, total));
  let at = start;
  let min = Infinity;
  let max = -Infinity;
  for (const r of ranges) {
    expect(r.start).toBe(at); // no gap, no overlap
    at += r.count;
    min = Math.min(min, r.count);
    max = Math.max(max, r.count);
  }
  expect(at - start).toBe(total);
  if (ranges.length) {
    expect(max - min).toBeLessThanOrEqual(1);
    expect(min).toBeGreaterThanOrEqual(1);
  }
}

describe("splitRange", () => {
  it("covers huge ranges (up to 1e12 and beyond) exactly, sizes within one", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 0, max: 2 ** 40 }), (total, parts, start) =>
        checkRanges(total, parts, start),
      ),
      { numRuns: 100 },
    );
    checkRanges(1e12, 64, 0);
    checkRanges(1e12, 7, 123);
  });

  it("makes one-item tasks and no empty ones when there are more tasks than items", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 51, max: 3000 }), (total, parts) => checkRanges(total, parts, 0)),
    );
    expect(splitRange(3, 10)).toEqual([
      { start: 0, count: 1 },
      { start: 1, count: 1 },
      { start: 2, count: 1 },
    ]);
    expect(splitRange(0, 4)).toEqual([]);
  });

  it("rejects bad counts and ranges past 2^53 with a clear error", () => {
    expect(() => splitRange(-1, 2)).toThrow(/total must be a whole number >= 0/);
    expect(() => splitRange(10, 0)).toThrow(/parts must be a whole number >= 1/);
    expect(() => splitRange(1.5, 2)).toThrow(/whole number/);
    expect(() => splitRange(2 ** 52, 2, 2 ** 52)).toThrow(/exceeds 2\^53/);
  });
});

describe("chunking collections", () => {
  it("chunks by count: order kept, nothing lost, lengths within one", () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 1, max: 40 }), (items, parts) => {
        const chunks = chunkByCount(items, parts);
        expect(chunks.flat()).toEqual(items);
        const lens = chunks.map((c) => c.length);
        if (lens.length) expect(Math.max(...lens) - Math.min(...lens)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it("chunks by size: order kept, each chunk within the budget unless one item alone exceeds it", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 50 })), fc.integer({ min: 1, max: 200 }), (items, maxBytes) => {
        const chunks = chunkBySize(items, maxBytes);
        expect(chunks.flat()).toEqual(items);
        for (const c of chunks) {
          const size = c.reduce((s, x) => s + jsonBytes(x), 0);
          if (c.length > 1) expect(size).toBeLessThanOrEqual(maxBytes);
        }
      }),
    );
  });
});

describe("resolveTaskCount", () => {
  it("gives four tasks per worker for auto and passes explicit counts through", () => {
    expect(resolveTaskCount("auto", 2)).toBe(8);
    expect(resolveTaskCount("auto", 30)).toBe(120);
    expect(resolveTaskCount(7, 2)).toBe(7);
    expect(() => resolveTaskCount(0, 2)).toThrow(/tasks must be a whole number >= 1/);
  });
});
