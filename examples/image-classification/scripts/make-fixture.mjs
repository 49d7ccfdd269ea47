#!/usr/bin/env node
// Writes test/fixtures/: the first N (default 300) Fashion-MNIST test images and labels as gzipped IDX files named
// like the real ones, so the tests run without the Debian package. Needs a build (pnpm build) and the real files.
//   node scripts/make-fixture.mjs [--data DIR] [--count N]
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { DEFAULT_DATA_DIR, IMAGE_BYTES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IMAGE_SIDE, loadFashionMnist, splitFiles } from "../dist/idx.js";

const { values } = parseArgs({ options: { data: { type: "string", default: DEFAULT_DATA_DIR }, count: { type: "string", default: "300" } } });
const count = Number(values.count);
const test = loadFashionMnist(values.data, "test");
const out = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "fixtures");
mkdirSync(out, { recursive: true });

const u32 = (...xs) => {
  const b = Buffer.alloc(4 * xs.length);
  xs.forEach((x, i) => b.writeUInt32BE(x, 4 * i));
  return b;
};
const images = Buffer.concat([u32(IDX_IMAGES_MAGIC, count, IMAGE_SIDE, IMAGE_SIDE), test.pixels.subarray(0, count * IMAGE_BYTES)]);
const labels = Buffer.concat([u32(IDX_LABELS_MAGIC, count), test.labels.subarray(0, count)]);
const names = splitFiles("test");
// zlib writes no timestamp, so the same input gives byte-identical files.
writeFileSync(join(out, `${names.images}.gz`), gzipSync(images, { level: 9 }));
writeFileSync(join(out, `${names.labels}.gz`), gzipSync(labels, { level: 9 }));
console.log(`wrote the first ${count} test images and labels of ${values.data} to ${out}`);
