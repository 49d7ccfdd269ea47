// Shards that read their own data: the orchestrator looks at the IDX headers (a few bytes) and sends each task only
// the byte ranges of its images and labels; each task reads them from S3 (ranged GETs) or local files.
import { fixedRecordRange, listObjects, readBytes, s3AccessFromEnv, splitRange, SuperfaasError, type ObjectInfo, type ObjectRange } from "@superfaas/core";
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IMAGE_BYTES, IMAGE_SIDE, splitFiles, type Split } from "./idx.js";
import type { Engine } from "./engine.js";

/** A shard that reads its own data: byte ranges of the IDX files in object storage (s3://) or local files (file://). */
export interface RangeImageTask {
  start: number;
  count: number;
  /** The shard's images (784-byte records after the 16-byte header) and labels (1-byte records after 8 bytes). */
  ranges: { images: ObjectRange; labels: ObjectRange };
  batch: number;
  engine: Engine;
}

/** Whether `--data` names data that tasks read themselves (s3:// or file://) rather than a folder sent inline. */
export function isRemoteData(data: string): boolean {
  return /^(s3|file):\/\//.test(data);
}

const UPLOAD_HINT = "upload the uncompressed IDX files first (node examples/image-classification/scripts/upload.mjs s3://BUCKET/PREFIX): byte ranges need them raw";

/** The two IDX objects of a split under `base` (s3://bucket/prefix or file:///dir), with sizes; throws BAD_INPUT naming a missing one. */
export async function locateObjects(base: string, split: Split, signal?: AbortSignal): Promise<{ images: ObjectInfo; labels: ObjectInfo }> {
  const names = splitFiles(split);
  const find = async (name: string): Promise<ObjectInfo> => {
    const url = `${base.replace(/\/+$/, "")}/${name}`;
    const found = await listObjects(url, undefined, signal ? { signal } : {}).catch((err: unknown) => {
      if (err instanceof SuperfaasError && /no objects at|no such file/.test(err.message)) {
        throw new SuperfaasError("BAD_INPUT", `Fashion-MNIST file not found: ${url}`, UPLOAD_HINT);
      }
      throw err;
    });
    const exact = found.find((o) => o.url === url || decodeURIComponent(o.url) === url);
    if (!exact) throw new SuperfaasError("BAD_INPUT", `Fashion-MNIST file not found: ${url} (a folder is there)`, UPLOAD_HINT);
    return exact;
  };
  const [images, labels] = await Promise.all([find(names.images), find(names.labels)]);
  return { images, labels };
}

/** Reads and checks an IDX header (magic, then `dims` big-endian u32 sizes) of an object, by range. */
async function idxHeader(o: ObjectInfo, magic: number, dims: number, signal?: AbortSignal): Promise<number[]> {
  const bytes = await readBytes(o.url, 0, 4 + 4 * dims, s3AccessFromEnv(), {}, signal);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * dims || view.getUint32(0) !== magic) {
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b;
    throw new SuperfaasError("BAD_INPUT", `${o.url} is not an uncompressed IDX ${magic === IDX_IMAGES_MAGIC ? "images" : "labels"} file${gz ? " (it is gzipped)" : ""}`, UPLOAD_HINT);
  }
  return Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
}

/**
 * Splits the first `images` images of a split stored at `base` into `tasks` shards that name byte ranges: 784-byte
 * image records after the 16-byte header, 1-byte labels after the 8-byte header. Only the headers are read here;
 * `options.signal` (the run's cancellation) ends the listing and those reads.
 */
export async function makeRangeTasks(base: string, split: Split, images: number, tasks: number, options: { batch: number; engine: Engine; signal?: AbortSignal | undefined }): Promise<RangeImageTask[]> {
  const objects = await locateObjects(base, split, options.signal);
  const [count, rows, cols] = (await idxHeader(objects.images, IDX_IMAGES_MAGIC, 3, options.signal)) as [number, number, number];
  const [labelCount] = (await idxHeader(objects.labels, IDX_LABELS_MAGIC, 1, options.signal)) as [number];
  if (rows !== IMAGE_SIDE || cols !== IMAGE_SIDE) throw new SuperfaasError("BAD_INPUT", `${objects.images.url} holds ${rows}×${cols} images, expected ${IMAGE_SIDE}×${IMAGE_SIDE}`, UPLOAD_HINT);
  if (objects.images.size !== 16 + count * IMAGE_BYTES || objects.labels.size !== 8 + labelCount) {
    throw new SuperfaasError("BAD_INPUT", `${objects.images.url} or ${objects.labels.url} is not as long as its header announces`, UPLOAD_HINT);
  }
  if (labelCount !== count) throw new SuperfaasError("BAD_INPUT", `Fashion-MNIST files disagree: ${count} images but ${labelCount} labels`, UPLOAD_HINT);
  if (images > count) throw new SuperfaasError("BAD_INPUT", `--images ${images} asks for more than the ${count} images of ${objects.images.url}`, `pass --images ${count} or fewer`);
  const imageLayout = { recordSize: IMAGE_BYTES, header: 16 };
  const labelLayout = { recordSize: 1, header: 8 };
  return splitRange(images, tasks).map((r) => ({
    start: r.start,
    count: r.count,
    ranges: { images: fixedRecordRange(objects.images, imageLayout, r.start, r.count), labels: fixedRecordRange(objects.labels, labelLayout, r.start, r.count) },
    batch: options.batch,
    engine: options.engine,
  }));
}
