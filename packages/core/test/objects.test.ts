import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  fixedRecordRange,
  listObjects,
  partitionObjects,
  readRange,
  readRecords,
  splitRecords,
  type ObjectInfo,
  type ObjectRange,
  type RecordLayout,
} from "../src/index.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads a range from in-memory objects, as a ranged GET would (fewer bytes at the end). */
const memorySource = (objects: Map<string, Uint8Array>, range: ObjectRange, reads?: Array<[number, number]>) => async (start: number, end: number) => {
  reads?.push([start, end]);
  return objects.get(range.url)!.subarray(start, end);
};

// Records are arbitrary text without the delimiter, empty ones included; objects may or may not end with it.
const textObject = fc
  .tuple(fc.array(fc.string({ unit: fc.constantFrom("a", "b", "é", " ", "\r"), maxLength: 12 }), { maxLength: 30 }), fc.boolean())
  .map(([records, trailing]) => (records.length ? records.join("\n") + (trailing ? "\n" : "") : ""));

describe("record-aligned chunking", () => {
  it("delimited: every record of every object is read exactly once, in order, at any chunk size", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(textObject, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 80 }), async (texts, chunkBytes) => {
        const objects = new Map(texts.map((t, i) => [`s3://b/o${i}`, enc.encode(t)] as const));
        const infos: ObjectInfo[] = [...objects].map(([url, bytes]) => ({ url, size: bytes.length }));
        const ranges = partitionObjects(infos, { kind: "delimited" }, { chunkBytes });
        for (const [url, bytes] of objects) {
          const mine = ranges.filter((r) => r.url === url);
          // The ranges tile the object: no gap, no overlap.
          expect(mine.map((r) => [r.start, r.end])).toEqual(mine.map((_, i) => [i * chunkBytes, Math.min(bytes.length, (i + 1) * chunkBytes)]));
          const got: string[] = [];
          for (const r of mine) got.push(...splitRecords(await readRecords(r, memorySource(objects, r))).map((x) => dec.decode(x)));
          expect(got).toEqual(splitRecords(bytes).map((x) => dec.decode(x)));
        }
      }),
      { numRuns: 150 },
    );
  });

  it("fixed-size: ranges start on record boundaries after the header and cover every record once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 4 }),
        fc.oneof(fc.record({ chunkBytes: fc.integer({ min: 1, max: 200 }) }), fc.record({ chunkRecords: fc.integer({ min: 1, max: 50 }) }), fc.record({ tasks: fc.integer({ min: 1, max: 30 }) })),
        async (header, recordSize, counts, chunk) => {
          const objects = new Map(counts.map((n, i) => [`file:///o${i}`, Uint8Array.from({ length: header + n * recordSize }, (_, k) => (k * 7 + i) % 251)] as const));
          const layout: RecordLayout = { kind: "fixed", recordSize, header };
          const ranges = partitionObjects([...objects].map(([url, b]) => ({ url, size: b.length })), layout, chunk);
          for (const [url, bytes] of objects) {
            const mine = ranges.filter((r) => r.url === url);
            const parts: Uint8Array[] = [];
            for (const r of mine) {
              expect((r.start - header) % recordSize).toBe(0);
              expect((r.end - r.start) % recordSize).toBe(0);
              expect(r.end).toBeGreaterThan(r.start);
              parts.push(await readRecords(r, memorySource(objects, r)));
            }
            expect(Buffer.concat(parts)).toEqual(Buffer.from(bytes.subarray(header)));
          }
          if ("chunkRecords" in chunk) expect(ranges.every((r) => r.end - r.start <= chunk.chunkRecords * recordSize)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a delimited range reads past its end only as far as its last record goes", async () => {
    const text = `${"x".repeat(10_000)}\nshort\n`;
    const objects = new Map([["s3://b/k", enc.encode(text)]]);
    const [first, second] = partitionObjects([{ url: "s3://b/k", size: text.length }], { kind: "delimited" }, { chunkBytes: 5_000 });
    const reads: Array<[number, number]> = [];
    expect(dec.decode(await readRecords(first!, memorySource(objects, first!, reads)))).toBe(`${"x".repeat(10_000)}\n`);
    // The record that starts in [0, 5000) ends at byte 10000: the reader went on only until it saw that delimiter.
    expect(reads.at(-1)![1]).toBeLessThan(text.length + 1);
    // The second range owns no record: the first one's tail spans it.
    expect((await readRecords(second!, memorySource(objects, second!))).length).toBe(0);
  });

  it("a large delimited range ending mid-record reads ahead in small steps, not a whole chunk more", async () => {
    const chunk = 2 ** 20;
    // Lines of 100 bytes: the record that straddles `chunk` ends a few bytes past it.
    const text = `${"y".repeat(99)}\n`.repeat(Math.ceil((3 * chunk) / 100));
    const objects = new Map([["s3://b/k", enc.encode(text)]]);
    const [first] = partitionObjects([{ url: "s3://b/k", size: text.length }], { kind: "delimited" }, { chunkBytes: chunk });
    const reads: Array<[number, number]> = [];
    const got = await readRecords(first!, memorySource(objects, first!, reads));
    expect(got.length).toBe(Math.ceil(chunk / 100) * 100);
    const read = reads.reduce((s, [a, b]) => s + (b - a), 0);
    expect(read).toBeLessThanOrEqual(chunk + 64 * 1024);
  });

  it("refuses layouts and sizes it cannot honour, naming the fix", () => {
    expect(() => partitionObjects([{ url: "file:///a", size: 10 }], { kind: "delimited" }, { chunkRecords: 3 })).toThrow(/chunkRecords needs fixed-size records/);
    expect(() => partitionObjects([{ url: "file:///a", size: 10 }], { kind: "fixed", recordSize: 3, header: 0 }, { chunkBytes: 3 })).toThrow(/not a 0-byte header plus whole 3-byte records/);
    expect(() => partitionObjects([{ url: "file:///a", size: 10 }], { kind: "delimited", delimiter: "\r\n" }, { chunkBytes: 3 })).toThrow(/is 2 bytes/);
    expect(() => partitionObjects([{ url: "file:///a", size: 10 }], { kind: "delimited" }, { chunkBytes: 0 })).toThrow(/chunkBytes must be a whole number/);
    expect(() => fixedRecordRange({ url: "file:///a", size: 16 + 784 * 2 }, { recordSize: 784, header: 16 }, 1, 2)).toThrow(/outside/);
  });
});

describe("local files (file://)", () => {
  let dir: string;
  afterAll(async () => dir && rm(dir, { recursive: true, force: true }));

  it("lists a folder recursively in name order and reads each range's records from disk", async () => {
    dir = await mkdtemp(join(tmpdir(), "superfaas-objects-"));
    await mkdir(join(dir, "sub"));
    await writeFile(join(dir, "b.txt"), "one\ntwo\nthree\n");
    await writeFile(join(dir, "a.txt"), "alpha\nbeta");
    await writeFile(join(dir, "sub", "c.txt"), "");
    const objects = await listObjects(dir);
    expect(objects).toEqual([
      { url: pathToFileURL(join(dir, "a.txt")).href, size: 10 },
      { url: pathToFileURL(join(dir, "b.txt")).href, size: 14 },
      { url: pathToFileURL(join(dir, "sub", "c.txt")).href, size: 0 },
    ]);
    const ranges = partitionObjects(objects, { kind: "delimited" }, { chunkBytes: 3 });
    const records: string[] = [];
    for (const r of ranges) records.push(...splitRecords(await readRange(r)).map((x) => dec.decode(x)));
    expect(records).toEqual(["alpha", "beta", "one", "two", "three"]);
  });

  it("says which path is missing", async () => {
    await expect(listObjects("/nonexistent/superfaas-data")).rejects.toThrow(/no such file or folder: \/nonexistent\/superfaas-data/);
  });

  it("refuses an empty or malformed location instead of listing the working directory", async () => {
    for (const bad of ["", " ", "file://relative/x", "file:///a%2Fb"]) await expect(listObjects(bad)).rejects.toMatchObject({ code: "BAD_INPUT", hint: expect.stringContaining("file:///PATH") });
  });

  it("bounds a local listing by maxEntries (files and folders, however deep)", async () => {
    const tree = await mkdtemp(join(tmpdir(), "superfaas-objects-deep-"));
    try {
      let at = tree;
      for (let d = 0; d < 200; d++) at = join(at, "d");
      await mkdir(at, { recursive: true });
      for (let i = 0; i < 5; i++) await writeFile(join(at, `f${i}`), "x\n");
      expect(await listObjects(tree)).toHaveLength(5);
      // 201 folders and 5 files: one entry fewer is refused, naming the location.
      await expect(listObjects(tree, {}, { maxEntries: 205 })).rejects.toMatchObject({ code: "BAD_INPUT", message: `${tree} holds more than 205 files and folders` });
      expect(await listObjects(tree, {}, { maxEntries: 206 })).toHaveLength(5);
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  });
});
