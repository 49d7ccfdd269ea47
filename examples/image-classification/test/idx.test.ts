import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { SuperfaasError } from "@superfaas/core";
import { FASHION_MNIST_URL, IMAGE_BYTES, loadFashionMnist, parseIdxImages, parseIdxLabels, splitFiles } from "../src/idx.js";

const fixtures = fileURLToPath(new URL("./fixtures", import.meta.url));
const names = splitFiles("test");
const realImages = gunzipSync(readFileSync(join(fixtures, `${names.images}.gz`)));
const realLabels = gunzipSync(readFileSync(join(fixtures, `${names.labels}.gz`)));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A data folder holding the given test-split files (raw bytes; `.gz` names are gzipped unless `raw`). */
function dataDir(files: { images?: Buffer | Uint8Array; labels?: Buffer | Uint8Array; raw?: boolean; imagesGz?: Buffer }): string {
  const dir = mkdtempSync(join(tmpdir(), "sf-idx-"));
  dirs.push(dir);
  const write = (name: string, bytes: Uint8Array) =>
    files.raw ? writeFileSync(join(dir, name), bytes) : writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
  if (files.imagesGz) writeFileSync(join(dir, `${names.images}.gz`), files.imagesGz);
  else if (files.images) write(names.images, files.images);
  if (files.labels) write(names.labels, files.labels);
  return dir;
}

function expectDataError(fn: () => unknown, message: RegExp, file: string): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(SuperfaasError);
  const e = error as SuperfaasError;
  expect(e.code).toBe("BAD_INPUT");
  expect(e.message).toMatch(message);
  expect(e.message).toContain(file);
  expect(e.hint).toContain("apt-get install dataset-fashion-mnist");
  expect(e.hint).toContain(FASHION_MNIST_URL);
}

const withCount = (bytes: Buffer, at: number, value: number) => {
  const copy = Buffer.from(bytes);
  copy.writeUInt32BE(value, at);
  return copy;
};

describe("IDX reader", () => {
  it("reads the committed fixture: 300 gzipped 28x28 test images with labels 0-9", () => {
    const d = loadFashionMnist(fixtures, "test");
    expect(d.count).toBe(300);
    expect(d.pixels.length).toBe(300 * IMAGE_BYTES);
    expect(d.labels.length).toBe(300);
    expect(new Set(d.labels).size).toBe(10);
    expect(d.labels[0]).toBe(9); // the first Fashion-MNIST test image is an ankle boot
    expect(d.files.images).toBe(join(fixtures, "t10k-images-idx3-ubyte.gz"));
  });

  it("reads uncompressed files just the same", () => {
    const d = loadFashionMnist(dataDir({ images: realImages, labels: realLabels, raw: true }), "test");
    expect(d.count).toBe(300);
    expect(Buffer.from(d.pixels).equals(realImages.subarray(16))).toBe(true);
  });

  it("names the missing file and how to get it when the folder is empty or absent", () => {
    expectDataError(() => loadFashionMnist("/nonexistent/fashion", "test"), /file not found: .*t10k-images-idx3-ubyte\.gz/, "/nonexistent/fashion");
    const dir = dataDir({ images: realImages });
    expectDataError(() => loadFashionMnist(dir, "test"), /file not found: .*t10k-labels-idx1-ubyte\.gz/, dir);
  });

  it("rejects a labels file where the images file belongs (bad magic)", () => {
    const dir = dataDir({ images: realLabels, labels: realLabels });
    expectDataError(() => loadFashionMnist(dir, "test"), /magic number 2049 \(a labels file\), expected 2051/, "t10k-images-idx3-ubyte.gz");
    expectDataError(() => parseIdxLabels(realImages, "x-labels"), /magic number 2051 \(an images file\), expected 2049/, "x-labels");
    expectDataError(() => parseIdxImages(Buffer.from("not an idx file at all"), "junk"), /magic number \d+, expected 2051/, "junk");
  });

  it("rejects images whose size disagrees with the header: truncated, too long, or not 28x28", () => {
    expectDataError(() => parseIdxImages(realImages.subarray(0, realImages.length - 1), "short"), /truncated: .* announces 300 images/, "short");
    expectDataError(() => parseIdxImages(Buffer.concat([realImages, Buffer.alloc(5)]), "long"), /5 more than its header announces/, "long");
    expectDataError(() => parseIdxImages(withCount(realImages, 4, 301), "count"), /truncated: .* announces 301 images/, "count");
    expectDataError(() => parseIdxImages(withCount(realImages, 8, 32), "rows"), /holds 32×28 images, expected 28×28/, "rows");
    expectDataError(() => parseIdxImages(realImages.subarray(0, 10), "tiny"), /shorter than its 16-byte header/, "tiny");
  });

  it("rejects labels whose size disagrees with the header or that are not classes 0-9", () => {
    expectDataError(() => parseIdxLabels(realLabels.subarray(0, 100), "short"), /truncated: .* announces 300 labels/, "short");
    const bad = Buffer.from(realLabels);
    bad[8 + 7] = 10;
    expectDataError(() => parseIdxLabels(bad, "bad"), /label 10 at index 7/, "bad");
  });

  it("rejects images and labels files that hold different counts", () => {
    const fewer = Buffer.concat([withCount(realLabels.subarray(0, 8), 4, 299), realLabels.subarray(8, 8 + 299)]);
    const dir = dataDir({ images: realImages, labels: fewer });
    expectDataError(() => loadFashionMnist(dir, "test"), /holds 300 images but .* holds 299 labels/, dir);
  });

  it("rejects a truncated gzip file, naming it", () => {
    const gz = readFileSync(join(fixtures, `${names.images}.gz`));
    const dir = dataDir({ imagesGz: gz.subarray(0, gz.length >> 1), labels: realLabels });
    expectDataError(() => loadFashionMnist(dir, "test"), /t10k-images-idx3-ubyte\.gz is a truncated or corrupt gzip file/, dir);
  });
});
