import { SuperfaasError } from "../errors.js";

/** A contiguous slice of a numeric range: `count` items starting at `start`. */
export interface Range {
  start: number;
  count: number;
}

function assertCount(name: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min) {
    throw new SuperfaasError("BAD_INPUT", `${name} must be a whole number >= ${min}, got ${n}`, `pass ${name} as an integer such as 1000 or 1e6`);
  }
}

/**
 * Splits `total` items into at most `parts` contiguous ranges with no gap and no overlap, whose sizes differ by
 * at most one. When parts > total, every range holds one item (no empty tasks are made).
 */
export function splitRange(total: number, parts: number, start = 0): Range[] {
  assertCount("total", total, 0);
  assertCount("parts", parts, 1);
  assertCount("start", start, 0);
  if (!Number.isSafeInteger(start + total)) {
    throw new SuperfaasError("BAD_INPUT", `range end ${start}+${total} exceeds 2^53`, "use fewer points");
  }
  const n = Math.min(parts, total);
  const base = Math.floor(total / n || 0);
  const extra = total - base * n;
  const out: Range[] = new Array(n);
  let at = start;
  for (let i = 0; i < n; i++) {
    const count = base + (i < extra ? 1 : 0);
    out[i] = { start: at, count };
    at += count;
  }
  return out;
}

/** Splits a collection into at most `parts` consecutive chunks whose lengths differ by at most one. */
export function chunkByCount<T>(items: readonly T[], parts: number): T[][] {
  return splitRange(items.length, parts).map((r) => items.slice(r.start, r.start + r.count));
}

/**
 * Splits a collection into consecutive chunks of at most `maxBytes` each (measured by `sizeOf`, JSON bytes by
 * default). An item larger than `maxBytes` gets a chunk of its own.
 */
export function chunkBySize<T>(items: readonly T[], maxBytes: number, sizeOf: (item: T) => number = jsonBytes): T[][] {
  assertCount("maxBytes", maxBytes, 1);
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const s = sizeOf(item);
    if (current.length > 0 && size + s > maxBytes) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += s;
  }
  if (current.length) out.push(current);
  return out;
}

/** Bytes of a value's JSON encoding in UTF-8. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}

/** Tasks per worker that `tasks: "auto"` aims for: enough to balance uneven tasks, few enough to keep overhead low. */
export const AUTO_TASKS_PER_WORKER = 4;

/** Resolves `--tasks N|auto` into a count: "auto" gives `tasksPerWorker` tasks per concurrent worker. */
export function resolveTaskCount(spec: number | "auto", concurrency: number, tasksPerWorker = AUTO_TASKS_PER_WORKER): number {
  if (spec === "auto") return Math.max(1, Math.round(concurrency * tasksPerWorker));
  assertCount("tasks", spec, 1);
  return spec;
}
