// Word count over newline-delimited text in object storage or local files. The client only lists the objects and
// sends byte ranges; each task reads its own range, aligned to whole lines (a line belongs to the range it starts in),
// so no line is lost or counted twice whatever the chunk size.
import { defineJob, listObjects, partitionObjects, splitRecords, SuperfaasError, type ObjectRange, type RunReport } from "@superfaas/core";

/** One task: a delimiter-aligned byte range of one object. */
export interface WordcountTask {
  range: ObjectRange;
}

/** One task's counts. */
export interface WordcountPartial {
  /** The object the range belongs to. */
  url: string;
  lines: number;
  words: number;
  /** Bytes of the lines this task owns (delimiters included). */
  bytes: number;
  counts: Record<string, number>;
}

/** The totals over every object. */
export interface WordcountOutput {
  /** Objects that hold text (empty ones make no tasks). */
  objects: number;
  lines: number;
  words: number;
  bytes: number;
  distinct: number;
  /** The most frequent words, most frequent first (ties by word), at most `top`. */
  top: Array<[string, number]>;
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;
const decoder = new TextDecoder();

/** Counts the lines and words of a chunk of newline-delimited UTF-8 text (words are lowercased letter/digit runs). */
export function countWords(bytes: Uint8Array, url = ""): WordcountPartial {
  const counts: Record<string, number> = Object.create(null);
  let lines = 0;
  let words = 0;
  for (const line of splitRecords(bytes, 10)) {
    lines++;
    for (const m of decoder.decode(line).toLowerCase().matchAll(WORD)) {
      counts[m[0]] = (counts[m[0]] ?? 0) + 1;
      words++;
    }
  }
  return { url, lines, words, bytes: bytes.length, counts: { ...counts } };
}

/** Merges partials into totals, keeping the `top` most frequent words. */
export function mergeCounts(partials: WordcountPartial[], top: number): WordcountOutput {
  const counts = new Map<string, number>();
  let lines = 0;
  let words = 0;
  let bytes = 0;
  for (const p of partials) {
    lines += p.lines;
    words += p.words;
    bytes += p.bytes;
    for (const [w, n] of Object.entries(p.counts)) counts.set(w, (counts.get(w) ?? 0) + n);
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { objects: new Set(partials.map((p) => p.url)).size, lines, words, bytes, distinct: counts.size, top: ranked.slice(0, top) };
}

/** Lists the objects at `data` and splits them into line-aligned ranges of `chunk` bytes (or the total over `tasks`); `signal` ends the listing. */
export async function lineRanges(data: string, chunk: number, tasks: number, signal?: AbortSignal): Promise<WordcountTask[]> {
  if (!data) throw new SuperfaasError("BAD_INPUT", "wordcount needs --data", "pass --data s3://BUCKET/PREFIX or a local file or folder");
  const objects = await listObjects(data, undefined, signal ? { signal } : {});
  return partitionObjects(objects, { kind: "delimited", delimiter: "\n" }, chunk > 0 ? { chunkBytes: chunk } : { tasks }).map((range) => ({ range }));
}

/** Word count over newline-delimited text objects (s3://BUCKET/PREFIX, file:///DIR, or a local path). */
export const wordcount = defineJob({
  name: "wordcount",
  description: "word count over newline-delimited text in S3 or local files; each task reads its own line-aligned byte range",
  params: {
    data: { type: "string", default: "", description: "the text: s3://BUCKET/PREFIX, s3://BUCKET/KEY, a local file or folder, or file:///PATH" },
    chunk: { type: "count", default: 0, description: "bytes per task (default 0: the total size split into --tasks chunks)" },
    top: { type: "count", default: 10, description: "how many of the most frequent words to show", max: 10_000 },
  },
  defaultTasks: "auto",
  partition: (input, plan): Promise<WordcountTask[]> => lineRanges(input.data, input.chunk, plan.tasks, plan.signal),
  map: async (task: WordcountTask, ctx): Promise<WordcountPartial> => countWords(await ctx.read(task.range), task.range.url),
  reduce: (partials: WordcountPartial[], input): WordcountOutput => mergeCounts(partials, input.top),
  metrics: (o: WordcountOutput, report: RunReport) => ({ megabytesPerSec: o.bytes / 1e6 / Math.max(1e-9, report.executeMs / 1000) }),
  format: (o: WordcountOutput, m: Record<string, number | string>) =>
    [
      `${o.lines.toLocaleString("en-US")} lines, ${o.words.toLocaleString("en-US")} words (${o.distinct.toLocaleString("en-US")} distinct), ${o.bytes.toLocaleString("en-US")} bytes in ${o.objects} object${o.objects === 1 ? "" : "s"}` +
        (typeof m.megabytesPerSec === "number" ? `, ${m.megabytesPerSec.toFixed(1)} MB/s` : ""),
      ...o.top.map(([w, n]) => `${String(n).padStart(10)}  ${w}`),
    ].join("\n"),
});
