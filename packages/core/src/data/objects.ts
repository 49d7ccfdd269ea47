// Data that tasks read themselves: objects in an S3-compatible store (`s3://bucket/key`) or local files
// (`file:///path`), split into byte ranges aligned to record boundaries. Only the ranges travel in tasks; the
// remote side reads its own bytes (see object-reader.ts). Everything here is pure and runs on both sides.
import { SuperfaasError } from "../errors.js";

/**
 * How records are laid out in an object. `fixed`: a header of `header` bytes, then records of `recordSize` bytes
 * each (IDX files, say). `delimited`: records ended by a one-byte `delimiter` (default "\n"); the last one may lack it.
 */
export type RecordLayout = { kind: "fixed"; recordSize: number; header?: number } | { kind: "delimited"; delimiter?: string };

/** An object and its size in bytes, as listing it tells. */
export interface ObjectInfo {
  /** `s3://bucket/key` or `file:///absolute/path`. */
  url: string;
  size: number;
}

/**
 * A byte range of one object that a task reads: JSON, so it travels inside tasks. [start, end) owns every record that
 * STARTS in it; for delimited records the reader skips a partial first record and reads past `end` to finish the
 * last one (the Lithops way), so neighbouring ranges never lose or repeat a record.
 */
export interface ObjectRange {
  url: string;
  start: number;
  end: number;
  /** Size of the whole object, so a reader never asks past its end. */
  size: number;
  layout: RecordLayout;
}

/** How big each range should be: exactly one of bytes, records (fixed-size records only) or a task count to aim for. */
export type ChunkSize = { chunkBytes: number } | { chunkRecords: number } | { tasks: number };

/** An `s3://bucket/key` URL taken apart. */
export interface S3Location {
  bucket: string;
  key: string;
}

const bad = (what: string, hint: string): never => {
  throw new SuperfaasError("BAD_INPUT", what, hint);
};

/** Parses `s3://bucket/key` (the key may be empty: the whole bucket). */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) return bad(`not an S3 URL: ${JSON.stringify(url)}`, "write it as s3://BUCKET/KEY or s3://BUCKET/PREFIX/");
  return { bucket: m[1]!, key: m[2]! };
}

/** The one delimiter byte of a delimited layout. */
export function delimiterByte(layout: { delimiter?: string }): number {
  const d = layout.delimiter ?? "\n";
  const bytes = new TextEncoder().encode(d);
  if (bytes.length !== 1) bad(`record delimiter ${JSON.stringify(d)} is ${bytes.length} bytes`, "use a single-byte delimiter such as \"\\n\" or \"\\0\"");
  return bytes[0]!;
}

function whole(name: string, n: number, min: number): number {
  if (!Number.isSafeInteger(n) || n < min) bad(`${name} must be a whole number >= ${min}, got ${n}`, `pass ${name} as an integer`);
  return n;
}

/** Checks a layout; throws BAD_INPUT naming what is wrong. */
export function checkLayout(layout: RecordLayout): void {
  if (layout.kind === "fixed") {
    whole("recordSize", layout.recordSize, 1);
    whole("header", layout.header ?? 0, 0);
  } else if (layout.kind === "delimited") {
    delimiterByte(layout);
  } else {
    bad(`unknown record layout ${JSON.stringify((layout as { kind?: unknown }).kind)}`, 'use { kind: "fixed", recordSize, header } or { kind: "delimited", delimiter }');
  }
}

/** How many fixed-size records an object holds; throws BAD_INPUT when its size is not header + k × recordSize. */
export function fixedRecordCount(object: ObjectInfo, layout: { recordSize: number; header?: number }): number {
  const header = layout.header ?? 0;
  const body = object.size - header;
  if (body < 0 || body % layout.recordSize !== 0) {
    bad(
      `${object.url} is ${object.size} bytes: not a ${header}-byte header plus whole ${layout.recordSize}-byte records`,
      "check the record size and header of the layout, or whether the object is complete",
    );
  }
  return body / layout.recordSize;
}

/**
 * Splits objects into record-aligned byte ranges, object by object in the order given (no range spans two objects;
 * empty objects give none). Fixed-size records are aligned here, at header + k × recordSize; delimited ones by the
 * reader. With `tasks`, the chunk size is the total size divided by it (more ranges result when objects are many).
 */
export function partitionObjects(objects: readonly ObjectInfo[], layout: RecordLayout, size: ChunkSize): ObjectRange[] {
  checkLayout(layout);
  const total = objects.reduce((s, o) => s + whole(`size of ${o.url}`, o.size, 0), 0);
  let chunkBytes: number;
  if ("chunkRecords" in size) {
    if (layout.kind !== "fixed") bad("chunkRecords needs fixed-size records", "give delimited records a chunkBytes (or tasks) instead: their count is unknown until they are read");
    chunkBytes = whole("chunkRecords", size.chunkRecords, 1) * (layout as { recordSize: number }).recordSize;
  } else if ("chunkBytes" in size) {
    chunkBytes = whole("chunkBytes", size.chunkBytes, 1);
  } else {
    chunkBytes = Math.max(1, Math.ceil(total / whole("tasks", size.tasks, 1)));
  }
  const out: ObjectRange[] = [];
  for (const o of objects) {
    if (layout.kind === "fixed") {
      const header = layout.header ?? 0;
      const n = fixedRecordCount(o, layout);
      // At least one record per range, so a chunk smaller than a record still makes progress.
      const per = Math.max(1, Math.floor(chunkBytes / layout.recordSize));
      for (let first = 0; first < n; first += per) {
        out.push({ url: o.url, start: header + first * layout.recordSize, end: header + Math.min(n, first + per) * layout.recordSize, size: o.size, layout });
      }
    } else {
      for (let start = 0; start < o.size; start += chunkBytes) out.push({ url: o.url, start, end: Math.min(o.size, start + chunkBytes), size: o.size, layout });
    }
  }
  return out;
}

/** The range of fixed-size records [first, first + count) of an object (for objects read side by side, as IDX images and labels). */
export function fixedRecordRange(object: ObjectInfo, layout: { recordSize: number; header?: number }, first: number, count: number): ObjectRange {
  const n = fixedRecordCount(object, layout);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 0 || first + count > n) {
    bad(`records ${first}..${first + count} are outside ${object.url}, which holds ${n}`, "ask for records that exist");
  }
  const header = layout.header ?? 0;
  return { url: object.url, start: header + first * layout.recordSize, end: header + (first + count) * layout.recordSize, size: object.size, layout: { kind: "fixed", ...layout } };
}

/**
 * The records a delimited range owns, given the bytes of the object from `from` on (at least up to the first
 * delimiter at or after `range.end - 1`, or to the end of the object): the slice from the first record that starts in
 * [start, end) through the delimiter that ends the last one. `from` is `start - 1` (or 0 when start is 0).
 */
export function ownedRecords(bytes: Uint8Array, from: number, range: ObjectRange, delimiter: number): Uint8Array {
  let begin = 0;
  if (range.start > 0) {
    // The byte before `start` tells whether a record starts at `start`: it does when that byte is a delimiter.
    const d = bytes.indexOf(delimiter, range.start - 1 - from);
    if (d < 0) return bytes.subarray(0, 0);
    begin = d + 1;
  }
  if (from + begin >= range.end) return bytes.subarray(0, 0);
  const last = bytes.indexOf(delimiter, Math.max(begin, range.end - 1 - from));
  return bytes.subarray(begin, last < 0 ? bytes.length : last + 1);
}

/** Splits delimited records into their payloads (without delimiters); a final record without one is kept. */
export function splitRecords(bytes: Uint8Array, delimiter = 10): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const d = bytes.indexOf(delimiter, at);
    const end = d < 0 ? bytes.length : d;
    out.push(bytes.subarray(at, end));
    at = end + 1;
  }
  return out;
}
