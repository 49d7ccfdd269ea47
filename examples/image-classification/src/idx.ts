// The IDX format of (Fashion-)MNIST: a big-endian header (magic, then one u32 per dimension) and raw bytes.
// Only the orchestrating side reads files; the remote side gets pixels inside its task.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { SuperfaasError } from "@superfaas/core";

/** Magic number of an IDX file of unsigned bytes with 3 dimensions (images). */
export const IDX_IMAGES_MAGIC = 2051;
/** Magic number of an IDX file of unsigned bytes with 1 dimension (labels). */
export const IDX_LABELS_MAGIC = 2049;
/** Side of a Fashion-MNIST image in pixels. */
export const IMAGE_SIDE = 28;
/** Bytes of one image. */
export const IMAGE_BYTES = IMAGE_SIDE * IMAGE_SIDE;
/** Where the Debian package `dataset-fashion-mnist` installs the four files. */
export const DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist";
/** Where the four files can be downloaded when the Debian package is not an option. */
export const FASHION_MNIST_URL = "https://github.com/zalandoresearch/fashion-mnist/tree/master/data/fashion";

/** What to do about a missing or broken data file. */
export const DATA_HINT =
  `install the Debian package (apt-get install dataset-fashion-mnist, files in ${DEFAULT_DATA_DIR}) ` +
  `or download the four *-ubyte.gz files from ${FASHION_MNIST_URL} into a folder and pass --data DIR`;

/** The two halves of Fashion-MNIST. */
export type Split = "train" | "test";

/** File names (without `.gz`) of a split, as the Debian package and the upstream repository name them. */
export function splitFiles(split: Split): { images: string; labels: string } {
  const stem = split === "train" ? "train" : "t10k";
  return { images: `${stem}-images-idx3-ubyte`, labels: `${stem}-labels-idx1-ubyte` };
}

/** Decoded images: `count` images of rows×cols bytes each, back to back. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}

const bad = (file: string, what: string): SuperfaasError => new SuperfaasError("BAD_INPUT", `Fashion-MNIST file ${file} ${what}`, DATA_HINT);

function header(bytes: Uint8Array, file: string, magic: number, dims: number): number[] {
  const need = 4 + 4 * dims;
  if (bytes.length < need) throw bad(file, `is truncated: ${bytes.length} bytes, shorter than its ${need}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const got = view.getUint32(0);
  if (got !== magic) {
    const kind = got === IDX_IMAGES_MAGIC ? " (an images file)" : got === IDX_LABELS_MAGIC ? " (a labels file)" : "";
    throw bad(file, `has magic number ${got}${kind}, expected ${magic} (${magic === IDX_IMAGES_MAGIC ? "images" : "labels"}): not the right IDX file`);
  }
  return Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
}

function checkLength(bytes: Uint8Array, file: string, expected: number, what: string): void {
  if (bytes.length < expected) throw bad(file, `is truncated: ${bytes.length} bytes, but its header announces ${what} (${expected} bytes)`);
  if (bytes.length > expected) throw bad(file, `is ${bytes.length} bytes, ${bytes.length - expected} more than its header announces (${what})`);
}

/** Parses an IDX images file (magic 2051) of 28×28 images; throws BAD_INPUT naming `file` when it is not one. */
export function parseIdxImages(bytes: Uint8Array, file: string): IdxImages {
  const [count, rows, cols] = header(bytes, file, IDX_IMAGES_MAGIC, 3) as [number, number, number];
  if (rows !== IMAGE_SIDE || cols !== IMAGE_SIDE) throw bad(file, `holds ${rows}×${cols} images, expected ${IMAGE_SIDE}×${IMAGE_SIDE}`);
  checkLength(bytes, file, 16 + count * rows * cols, `${count} images of ${rows}×${cols}`);
  return { count, rows, cols, pixels: bytes.subarray(16) };
}

/** Parses an IDX labels file (magic 2049) of classes 0–9; throws BAD_INPUT naming `file` when it is not one. */
export function parseIdxLabels(bytes: Uint8Array, file: string): Uint8Array {
  const [count] = header(bytes, file, IDX_LABELS_MAGIC, 1) as [number];
  checkLength(bytes, file, 8 + count, `${count} labels`);
  const labels = bytes.subarray(8);
  const wrong = labels.findIndex((l) => l > 9);
  if (wrong >= 0) throw bad(file, `has label ${labels[wrong]} at index ${wrong}; Fashion-MNIST classes are 0 to 9`);
  return labels;
}

/** Reads a file whole, gunzipping it when it starts with the gzip magic bytes, whatever its name. */
export function readMaybeGzip(path: string): Uint8Array {
  const raw = readFileSync(path);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (err) {
      throw bad(path, `is a truncated or corrupt gzip file (${(err as Error).message})`);
    }
  }
  return raw;
}

/** Finds `<dir>/<name>.gz`, else the uncompressed `<dir>/<name>`; throws BAD_INPUT saying where it looked. */
export function locate(dir: string, name: string): string {
  for (const candidate of [join(dir, `${name}.gz`), join(dir, name)]) if (existsSync(candidate)) return candidate;
  throw new SuperfaasError("BAD_INPUT", `Fashion-MNIST file not found: ${join(dir, `${name}.gz`)} (nor uncompressed ${name})`, DATA_HINT);
}

/** One split of Fashion-MNIST as loaded from disk. */
export interface FashionMnist {
  split: Split;
  count: number;
  /** `count` images of 784 bytes, row by row, 0 = background. */
  pixels: Uint8Array;
  labels: Uint8Array;
  files: { images: string; labels: string };
}

/** Loads and validates one split of Fashion-MNIST from `dir` (gzipped or raw IDX files). */
export function loadFashionMnist(dir: string, split: Split): FashionMnist {
  const names = splitFiles(split);
  const files = { images: locate(dir, names.images), labels: locate(dir, names.labels) };
  const images = parseIdxImages(readMaybeGzip(files.images), files.images);
  const labels = parseIdxLabels(readMaybeGzip(files.labels), files.labels);
  if (labels.length !== images.count) {
    throw new SuperfaasError(
      "BAD_INPUT",
      `Fashion-MNIST files disagree: ${files.images} holds ${images.count} images but ${files.labels} holds ${labels.length} labels`,
      DATA_HINT,
    );
  }
  return { split, count: images.count, pixels: images.pixels, labels, files };
}
