// Fashion-MNIST inference: the WebAssembly SIMD engine against TensorFlow.js's plain-JS cpu backend in one process,
// then the job on the local backend at 1 worker and at all cores (parallel efficiency; on the 60,000 training
// images when installed, so each run lasts seconds). Every figure is a ratio
// against a baseline measured in the same run. Needs a build (pnpm build) and, for the real 10,000 test images,
// the Debian package dataset-fashion-mnist (else the 300-image test fixture is used and the result says so).
//   node bench/image-classification.mjs          (prints the result as JSON)
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, "..", "examples", "image-classification");
const DEFAULT_LABEL = "Fashion-MNIST (dataset-fashion-mnist)";
const log = (m) => process.stderr.write(`bench: ${m}\n`);

async function imagesPerSec(classifier, pixels, batch, repeats) {
  const count = pixels.length / 784;
  let best = Infinity;
  let predictions;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    predictions = await classifier.classify(pixels, batch);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { imagesPerSec: count / best, seconds: best, images: count, predictions };
}

async function localRun(job, input, workers, repeats) {
  const backend = localBackend({ workers });
  try {
    // The first run starts the workers and loads the model in each; the timed ones find them warm.
    const warm = await run(job, input, { backend, tasks: workers * 4 });
    let best = Infinity;
    let classifySeconds = 0;
    for (let i = 0; i < repeats; i++) {
      const { output, report } = await run(job, input, { backend, tasks: workers * 4 });
      if (output.predictionsSha256 !== warm.output.predictionsSha256) throw new Error("the local backend gave different predictions for the same input");
      if (report.executeMs / 1000 < best) {
        best = report.executeMs / 1000;
        classifySeconds = output.classifyMs / 1000;
      }
    }
    // classifySeconds sums the workers' time inside the model: when it grows with the worker count, the workers
    // were competing for cores (a busy machine), not waiting on superfaas.
    return { workers, tasks: workers * 4, seconds: best, classifySeconds, imagesPerSec: input.images / best, output: warm.output };
  } finally {
    await backend.dispose();
  }
}

/**
 * Images/s of the wasm engine (best batch) vs the plain-JS cpu engine in one process (goal: ratio >= 10), and of
 * the job on the local backend at 1 worker and at every core (goal: parallel efficiency close to 1), plus accuracy.
 */
export async function benchImageClassification(options = {}) {
  const entry = join(example, "dist", "index.js");
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run pnpm build first`);
  const ic = await import(entry);
  const cores = options.cores ?? availableParallelism();
  const realData = existsSync(join(ic.DEFAULT_DATA_DIR, "t10k-images-idx3-ubyte.gz")) || existsSync(join(ic.DEFAULT_DATA_DIR, "t10k-images-idx3-ubyte"));
  const dataDir = options.data ?? (realData ? ic.DEFAULT_DATA_DIR : join(example, "test", "fixtures"));
  if (!realData && !options.data) log(`Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): using the 300-image test fixture`);
  const test = ic.loadFashionMnist(dataDir, "test");
  const images = Math.min(options.images ?? test.count, test.count);
  const pixels = test.pixels.subarray(0, images * 784);

  log(`single process: wasm engine over batch sizes, ${images} images`);
  const wasm = await ic.loadClassifier("wasm");
  await wasm.classify(pixels.subarray(0, 512 * 784)); // warm-up: first calls compile kernels and grow the heap
  const sweep = [];
  for (const batch of options.batches ?? [1, 16, 64, 128, 256, 1024]) {
    const n = batch === 1 ? Math.min(images, 1000) : images; // batch 1 is slow; a subset keeps the bench short
    const r = await imagesPerSec(wasm, pixels.subarray(0, n * 784), batch, 3);
    sweep.push({ batch, imagesPerSec: r.imagesPerSec, images: n });
    log(`  wasm batch ${batch}: ${r.imagesPerSec.toFixed(0)} images/s`);
  }
  const bestBatch = sweep.reduce((a, b) => (b.imagesPerSec > a.imagesPerSec ? b : a)).batch;
  const wasmBest = await imagesPerSec(wasm, pixels, bestBatch, 3);

  // The plain-JS backend is an order of magnitude slower: a slice of the images gives a stable rate in seconds.
  const cpuImages = Math.min(images, options.cpuImages ?? 1000);
  log(`single process: plain-JS cpu engine, ${cpuImages} images, batch ${bestBatch}`);
  const cpu = await ic.loadClassifier("cpu");
  await cpu.classify(pixels.subarray(0, 64 * 784), bestBatch);
  const cpuRate = await imagesPerSec(cpu, pixels.subarray(0, cpuImages * 784), bestBatch, 2);
  const agree = cpuRate.predictions.every((p, i) => p === wasmBest.predictions[i]);
  const ratio = wasmBest.imagesPerSec / cpuRate.imagesPerSec;
  log(`  cpu: ${cpuRate.imagesPerSec.toFixed(0)} images/s; wasm/cpu ${ratio.toFixed(1)}x; same predictions: ${agree}`);

  // Accuracy and agreement: the test images through the local backend must get the in-process predictions.
  const checkBackend = localBackend({ workers: cores });
  let checked;
  try {
    checked = (await run(ic.imageClassification, { images, data: dataDir, batch: bestBatch }, { backend: checkBackend })).output;
  } finally {
    await checkBackend.dispose();
  }
  if (checked.predictions !== Array.from(wasmBest.predictions).join("")) throw new Error("predictions through the local backend differ from the in-process ones");

  // Scaling runs want seconds of work per run, so they classify the 60,000 training images when present.
  const hasTrain = (() => {
    try {
      return ic.loadFashionMnist(dataDir, "train").count;
    } catch {
      return 0;
    }
  })();
  const scaling = hasTrain ? { split: "train", images: Math.min(hasTrain, options.scalingImages ?? hasTrain) } : { split: "test", images };
  log(`local backend: ${scaling.images} ${scaling.split} images at 1 worker, then ${cores} workers`);
  const input = { images: scaling.images, split: scaling.split, data: dataDir, batch: bestBatch };
  const one = await localRun(ic.imageClassification, input, 1, options.repeats ?? 3);
  const all = await localRun(ic.imageClassification, input, cores, options.repeats ?? 3);
  if (one.output.predictionsSha256 !== all.output.predictionsSha256) throw new Error("predictions differ between 1 and all workers");
  const speedup = one.seconds / all.seconds;
  log(`  1 worker ${one.imagesPerSec.toFixed(0)} images/s, ${cores} workers ${all.imagesPerSec.toFixed(0)} images/s: efficiency ${(speedup / cores).toFixed(2)}`);
  log(`  time inside the model, summed over workers: ${one.classifySeconds.toFixed(2)} s at 1 worker, ${all.classifySeconds.toFixed(2)} s at ${cores}`);

  return {
    data: realData && !options.data ? DEFAULT_LABEL : dataDir,
    images,
    accuracy: checked.accuracy,
    predictionsSha256: checked.predictionsSha256,
    engines: {
      wasm: { kernel: wasm.kernel, batch: bestBatch, imagesPerSec: wasmBest.imagesPerSec },
      cpu: { kernel: cpu.kernel, batch: bestBatch, imagesPerSec: cpuRate.imagesPerSec, images: cpuImages, samePredictions: agree },
      batchSweep: sweep,
    },
    ratioWasmToCpu: ratio,
    local: {
      split: scaling.split,
      images: scaling.images,
      workers: cores,
      one: { tasks: one.tasks, seconds: one.seconds, classifySeconds: one.classifySeconds, imagesPerSec: one.imagesPerSec },
      all: { tasks: all.tasks, seconds: all.seconds, classifySeconds: all.classifySeconds, imagesPerSec: all.imagesPerSec },
      speedup,
      efficiency: speedup / cores,
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchImageClassification(), null, 2));
}
