import { createHash } from "node:crypto";
import { defineJob, splitRange, SuperfaasError, type MapContext, type RunReport } from "@superfaas/core";
import { DATA_HINT, DEFAULT_DATA_DIR, IMAGE_BYTES, loadFashionMnist, type Split } from "./idx.js";
import { isRemoteData, makeRangeTasks, type RangeImageTask } from "./ranges.js";
import { CLASS_NAMES, CLASSES, DEFAULT_BATCH } from "./model.js";
import { ENGINES, type Engine } from "./engine.js";
import { classifierLoads, loadClassifier } from "./classifier.js";

export * from "./idx.js";
export { isRemoteData, locateObjects, makeRangeTasks, type RangeImageTask } from "./ranges.js";
export { uploadFashionMnist } from "./upload.js";
export { CLASS_NAMES, CLASSES, DEFAULT_BATCH, createClassifier, decodeWeights, tensorSpecs, parameterCount, type Architecture, type Classifier, type StoredModel } from "./model.js";
export { ENGINES, useEngine, type Engine } from "./engine.js";
export { loadClassifier, classifierLoads } from "./classifier.js";
export { STORED_MODEL } from "./model-weights.js";

/** One shard: images [start, start+count) of the split, with their pixels and labels inline or as ranges to read. */
export type ImageTask = InlineImageTask | RangeImageTask;

/** A shard that carries its data: pixels and labels in base64 (a local folder given as --data). */
export interface InlineImageTask {
  start: number;
  count: number;
  /** count×784 bytes, row by row. */
  pixels: string;
  /** count bytes, classes 0–9. */
  labels: string;
  batch: number;
  engine: Engine;
}

/** One shard's result. */
export interface ImagePartial {
  start: number;
  count: number;
  /** The predicted class of each image, one digit per image. */
  predictions: string;
  /** Counts by [true class][predicted class], row-major, 100 entries. */
  confusion: number[];
  /** The TensorFlow.js backend that ran the shard ("wasm-simd" or "cpu"). */
  kernel: string;
  /** Time spent classifying (model load excluded), in ms. */
  classifyMs: number;
  /** The worker that ran the shard, and how many times it had loaded the model by then (1 when cached). */
  workerId: string;
  modelLoads: number;
}

/** Precision and recall of one class. */
export interface ClassScore {
  label: number;
  name: string;
  /** Of the images predicted as this class, the fraction that are; null when none was predicted. */
  precision: number | null;
  /** Of the images of this class, the fraction predicted as it; null when there was none. */
  recall: number | null;
  support: number;
}

/** The evaluation: a pure function of the input, identical for any task count and on every backend. */
export interface ImageOutput {
  split: Split;
  images: number;
  correct: number;
  accuracy: number;
  /** confusion[true][predicted]. */
  confusion: number[][];
  perClass: ClassScore[];
  /** SHA-256 (hex) of `predictions`: the quick way to compare runs. */
  predictionsSha256: string;
  /** The predicted class of every image, one digit per image, in image order. */
  predictions: string;
  kernels: string[];
  /** Time all shards spent classifying, summed over workers, in ms. */
  classifyMs: number;
  /** Distinct workers that ran shards, and how many model loads they made in all (one each when the cache works). */
  workers: number;
  modelLoads: number;
}

/** Splits the first `images` images of a loaded split into `tasks` shards (no gap, no overlap, sizes within one). */
export function makeTasks(
  data: { pixels: Uint8Array; labels: Uint8Array },
  images: number,
  tasks: number,
  options: { batch?: number; engine?: Engine } = {},
): InlineImageTask[] {
  return splitRange(images, tasks).map((r) => ({
    start: r.start,
    count: r.count,
    pixels: Buffer.from(data.pixels.buffer, data.pixels.byteOffset + r.start * IMAGE_BYTES, r.count * IMAGE_BYTES).toString("base64"),
    labels: Buffer.from(data.labels.buffer, data.labels.byteOffset + r.start, r.count).toString("base64"),
    batch: options.batch ?? DEFAULT_BATCH,
    engine: options.engine ?? "wasm",
  }));
}

/** Classifies one shard with the bundled model, loaded once per worker; a range shard reads its bytes through `ctx.read`. */
export async function classifyShard(task: ImageTask, ctx?: Pick<MapContext, "workerId" | "read">): Promise<ImagePartial> {
  let pixels: Uint8Array;
  let labels: Uint8Array;
  if ("ranges" in task) {
    if (!ctx) throw new SuperfaasError("BAD_INPUT", `shard at ${task.start} names byte ranges but no reader was given`, "run range shards through run() or pass a MapContext");
    [pixels, labels] = await Promise.all([ctx.read(task.ranges.images), ctx.read(task.ranges.labels)]);
    const wrong = labels.findIndex((l) => l > 9);
    if (wrong >= 0) throw new SuperfaasError("BAD_INPUT", `${task.ranges.labels.url} has label ${labels[wrong]} at index ${task.start + wrong}; classes are 0 to 9`, DATA_HINT);
  } else {
    pixels = Buffer.from(task.pixels, "base64");
    labels = Buffer.from(task.labels, "base64");
  }
  if (pixels.length !== task.count * IMAGE_BYTES || labels.length !== task.count) {
    throw new SuperfaasError(
      "BAD_INPUT",
      `shard at ${task.start} announces ${task.count} images but carries ${pixels.length} pixel bytes and ${labels.length} labels`,
      "ranges" in task ? "the data changed since the run was partitioned: run again" : "tasks are made by partition(); do not edit them by hand",
    );
  }
  const classifier = await loadClassifier(task.engine);
  const t0 = performance.now();
  const predicted = await classifier.classify(pixels, task.batch);
  const classifyMs = performance.now() - t0;
  const confusion = new Array<number>(CLASSES * CLASSES).fill(0);
  let predictions = "";
  for (let i = 0; i < predicted.length; i++) {
    confusion[labels[i]! * CLASSES + predicted[i]!]!++;
    predictions += String(predicted[i]);
  }
  return {
    start: task.start,
    count: task.count,
    predictions,
    confusion,
    kernel: classifier.kernel,
    classifyMs,
    workerId: ctx?.workerId ?? "in-process",
    modelLoads: classifierLoads(),
  };
}

/** Combines shard results, in task order, into accuracy, confusion matrix, per-class scores and a checksum. */
export function summarize(partials: ImagePartial[], split: Split): ImageOutput {
  const confusion = Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0));
  let predictions = "";
  let next = 0;
  let classifyMs = 0;
  const loadsByWorker = new Map<string, number>();
  for (const p of partials) {
    loadsByWorker.set(p.workerId, Math.max(loadsByWorker.get(p.workerId) ?? 0, p.modelLoads));
    if (p.start !== next || p.predictions.length !== p.count) {
      throw new SuperfaasError("INTERNAL", `shard results do not tile the images: expected one starting at ${next}, got ${p.start} (+${p.count})`, "report this bug");
    }
    next += p.count;
    predictions += p.predictions;
    classifyMs += p.classifyMs;
    p.confusion.forEach((n, i) => (confusion[Math.floor(i / CLASSES)]![i % CLASSES]! += n));
  }
  let correct = 0;
  const perClass: ClassScore[] = CLASS_NAMES.map((name, k) => {
    const row = confusion[k]!;
    const support = row.reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((s, r) => s + r[k]!, 0);
    const hits = row[k]!;
    correct += hits;
    return { label: k, name, precision: predictedAs ? hits / predictedAs : null, recall: support ? hits / support : null, support };
  });
  return {
    split,
    images: next,
    correct,
    accuracy: next ? correct / next : 0,
    confusion,
    perClass,
    predictionsSha256: createHash("sha256").update(predictions).digest("hex"),
    predictions,
    kernels: [...new Set(partials.map((p) => p.kernel))],
    classifyMs,
    workers: loadsByWorker.size,
    modelLoads: [...loadsByWorker.values()].reduce((a, b) => a + b, 0),
  };
}

const pct = (x: number | null) => (x === null ? "    -" : (100 * x).toFixed(1).padStart(5));

/** Renders an evaluation as a table: summary line, per-class precision and recall, confusion matrix. */
export function formatOutput(o: ImageOutput, m: Record<string, number | string> = {}): string {
  const short = (name: string) => name.split("/")[0]!.slice(0, 11);
  const lines = [
    `Fashion-MNIST ${o.split} set: ${o.images} images, accuracy ${(100 * o.accuracy).toFixed(2)}% (${o.correct} correct), engine ${o.kernels.join("+")}` +
      (typeof m.imagesPerSec === "number" ? `, ${Math.round(m.imagesPerSec).toLocaleString("en-US")} images/s` : ""),
    `predictions sha256 ${o.predictionsSha256.slice(0, 16)}`,
    "",
    `${"class".padEnd(12)} precision  recall  support`,
    ...o.perClass.map((c) => `${`${c.label} ${short(c.name)}`.padEnd(12)} ${pct(c.precision)}%    ${pct(c.recall)}%  ${String(c.support).padStart(7)}`),
    "",
    `confusion matrix (rows: true class, columns: predicted class)`,
    `${"".padEnd(12)}${Array.from({ length: CLASSES }, (_, k) => String(k).padStart(6)).join("")}`,
    ...o.confusion.map((row, k) => `${`${k} ${short(CLASS_NAMES[k]!)}`.padEnd(12)}${row.map((n) => String(n).padStart(6)).join("")}`),
  ];
  return lines.join("\n");
}

/** Fashion-MNIST inference: shards of test images classified by a small CNN, on any backend. */
export const imageClassification = defineJob({
  name: "image-classification",
  description: "Fashion-MNIST inference with a compact CNN (TensorFlow.js, WebAssembly SIMD), fanned out over shards of images",
  // The same task gives the same partial on every attempt: slow tasks may get a backup attempt.
  deterministic: true,
  params: {
    images: { type: "count", default: 10_000, description: "how many images to classify (the first N of the split)", min: 1 },
    data: {
      type: "string",
      default: DEFAULT_DATA_DIR,
      description: "folder with the Fashion-MNIST IDX files (gzipped or raw; sent inside tasks), or s3://BUCKET/PREFIX or file:///DIR of the uncompressed files (each task reads its own byte ranges)",
    },
    split: { type: "string", default: "test", description: "which half of Fashion-MNIST: test (10,000 images) or train (60,000)" },
    batch: { type: "count", default: DEFAULT_BATCH, description: "images per forward pass inside a task", min: 1, max: 65_536 },
    engine: { type: "string", default: "wasm", description: "TensorFlow.js backend: wasm (SIMD, fast) or cpu (plain JavaScript)" },
  },
  partition(input, plan): ImageTask[] | Promise<ImageTask[]> {
    if (input.split !== "test" && input.split !== "train") {
      throw new SuperfaasError("BAD_INPUT", `unknown split ${JSON.stringify(input.split)}`, "pass --split test or --split train");
    }
    if (!(ENGINES as readonly string[]).includes(input.engine)) {
      throw new SuperfaasError("BAD_INPUT", `unknown engine ${JSON.stringify(input.engine)}`, `pass --engine ${ENGINES.join(" or --engine ")}`);
    }
    if (isRemoteData(input.data)) return makeRangeTasks(input.data, input.split, input.images, plan.tasks, { batch: input.batch, engine: input.engine as Engine, signal: plan.signal });
    const data = loadFashionMnist(input.data, input.split);
    if (input.images > data.count) {
      throw new SuperfaasError("BAD_INPUT", `--images ${input.images} asks for more than the ${data.count} images of ${data.files.images}`, `pass --images ${data.count} or fewer`);
    }
    return makeTasks(data, input.images, plan.tasks, { batch: input.batch, engine: input.engine as Engine });
  },
  map: (task: ImageTask, ctx): Promise<ImagePartial> => classifyShard(task, ctx),
  reduce: (partials: ImagePartial[], input): ImageOutput => summarize(partials, input.split as Split),
  // Timings, worker counts and the engine's name describe the platform, not the answer: the predictions must agree.
  equal: (a: ImageOutput, b: ImageOutput) => a.split === b.split && a.images === b.images && a.predictions === b.predictions,
  metrics: (o: ImageOutput, report: RunReport) => ({
    imagesPerSec: o.images / Math.max(1e-9, report.executeMs / 1000),
    // Per distinct worker that ran shards: a backend's concurrency may exceed its workers (queued tasks).
    imagesPerSecPerWorker: o.images / Math.max(1e-9, report.executeMs / 1000) / Math.max(1, o.workers),
    classifyImagesPerSec: o.images / Math.max(1e-9, o.classifyMs / 1000),
    accuracy: o.accuracy,
  }),
  format: formatOutput,
});
