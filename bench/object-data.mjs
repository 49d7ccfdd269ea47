// Image classification reading its shards from object storage (s3rver on loopback) against the inline mode, where the
// client ships every shard's pixels inside its task, both on the local backend in the same run: client bytes sent per
// image, images/s, and the aggregate throughput of the ranged reads. Needs a build (pnpm build); uses the 10,000
// Fashion-MNIST test images when dataset-fashion-mnist is installed, else the 300-image fixture (and says so).
//   node bench/object-data.mjs          (prints the result as JSON)
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readRange, run, s3AccessFromEnv } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import S3rver from "s3rver";

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, "..", "examples", "image-classification");
const log = (m) => process.stderr.write(`bench: ${m}\n`);

/** s3rver on a loopback port (the tests' wrapper in @superfaas/testing is TypeScript; plain Range reads need no fixes). */
async function startStore(bucket) {
  const directory = await mkdtemp(join(tmpdir(), "bench-s3rver-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  let ranged = 0;
  server.httpServer?.on("request", (req) => {
    if (req.method === "GET" && req.headers.range) ranged++;
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    region: "us-east-1",
    ranged: () => ranged,
    async close() {
      server.httpServer?.closeAllConnections?.();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Counts the JSON bytes of every task the client hands the backend: what the client sends per attempt. */
function counting(backend) {
  const counter = { bytes: 0, attempts: 0 };
  const invoke = backend.invoke.bind(backend);
  backend.invoke = (req, signal) => {
    counter.bytes += Buffer.byteLength(JSON.stringify(req.task));
    counter.attempts++;
    return invoke(req, signal);
  };
  return { backend, counter };
}

/** Best wall time of `repeats` runs (the first, untimed one warms the workers and their model). */
async function timed(job, input, backend, counter, tasks, repeats) {
  const warm = await run(job, input, { backend, tasks });
  let best = Infinity;
  let bytes = 0;
  let executeMs = 0;
  for (let i = 0; i < repeats; i++) {
    counter.bytes = 0;
    const t0 = performance.now();
    const { output, report } = await run(job, input, { backend, tasks });
    const s = (performance.now() - t0) / 1000;
    if (output.predictions !== warm.output.predictions) throw new Error("predictions changed between runs of the same input");
    if (s < best) {
      best = s;
      bytes = counter.bytes;
      executeMs = report.executeMs;
    }
  }
  return { seconds: best, executeMs, clientBytes: bytes, output: warm.output };
}

/**
 * Inline vs --data s3:// on the local backend: bytes the client sends per image (goal: s3 at least 100x fewer),
 * images/s (goal: s3 >= 0.9 of inline), and MB/s of the shards' ranged reads.
 */
export async function benchObjectData(options = {}) {
  const entry = join(example, "dist", "index.js");
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run pnpm build first`);
  const ic = await import(entry);
  const real = existsSync(join(ic.DEFAULT_DATA_DIR, "t10k-images-idx3-ubyte.gz")) || existsSync(join(ic.DEFAULT_DATA_DIR, "t10k-images-idx3-ubyte"));
  const dataDir = options.data ?? (real ? ic.DEFAULT_DATA_DIR : join(example, "test", "fixtures"));
  if (!real && !options.data) log("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): using the 300-image test fixture");
  const count = ic.loadFashionMnist(dataDir, "test").count;
  const images = Math.min(options.images ?? count, count);
  const workers = options.workers ?? availableParallelism();
  const tasks = options.tasks ?? workers * 4;
  const repeats = options.repeats ?? 3;

  const server = await startStore("bench");
  const saved = { ...process.env };
  // The client and the local backend's workers find the store through the usual variables.
  Object.assign(process.env, { AWS_ENDPOINT_URL_S3: server.endpoint, AWS_ACCESS_KEY_ID: server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey, AWS_REGION: server.region });
  const raw = localBackend({ workers });
  const { backend, counter } = counting(raw);
  try {
    log(`uploading the uncompressed test split to s3rver`);
    await ic.uploadFashionMnist(dataDir, "s3://bench/fashion", { splits: ["test"] });
    const base = { images, split: "test", batch: 256, engine: "wasm" };
    log(`inline: ${images} images, ${tasks} tasks on ${workers} workers`);
    const inline = await timed(ic.imageClassification, { ...base, data: dataDir }, backend, counter, tasks, repeats);
    log(`  ${(images / inline.seconds).toFixed(0)} images/s, ${(inline.clientBytes / images).toFixed(1)} client bytes per image`);
    log(`s3: the same images read by range from s3rver`);
    const before = server.ranged();
    const s3 = await timed(ic.imageClassification, { ...base, data: "s3://bench/fashion" }, backend, counter, tasks, repeats);
    const reads = server.ranged() - before;
    if (s3.output.predictions !== inline.output.predictions) throw new Error("the s3 mode predicted differently from the inline mode");
    log(`  ${(images / s3.seconds).toFixed(0)} images/s, ${(s3.clientBytes / images).toFixed(2)} client bytes per image, ${reads} ranged reads`);

    // The reads alone, from this process, as many at once as there are workers: what the reader and the store give.
    const shardTasks = await ic.imageClassification.partition({ ...base, data: "s3://bench/fashion" }, { tasks, concurrency: workers });
    const ranges = shardTasks.flatMap((t) => [t.ranges.images, t.ranges.labels]);
    const access = s3AccessFromEnv();
    let bytesRead = 0;
    const t0 = performance.now();
    for (let i = 0; i < ranges.length; i += workers) {
      const got = await Promise.all(ranges.slice(i, i + workers).map((r) => readRange(r, access)));
      bytesRead += got.reduce((s, b) => s + b.length, 0);
    }
    const readSeconds = (performance.now() - t0) / 1000;
    const rangeBytes = ranges.reduce((s, r) => s + r.end - r.start, 0);
    log(`  ranged reads alone: ${(bytesRead / 1e6 / readSeconds).toFixed(1)} MB/s (${ranges.length} reads, ${(bytesRead / 1e6).toFixed(1)} MB)`);
    return {
      data: real && !options.data ? "Fashion-MNIST test split (dataset-fashion-mnist)" : dataDir,
      images,
      workers,
      tasks,
      inline: { seconds: inline.seconds, imagesPerSec: images / inline.seconds, clientBytesPerImage: inline.clientBytes / images },
      s3: {
        seconds: s3.seconds,
        imagesPerSec: images / s3.seconds,
        clientBytesPerImage: s3.clientBytes / images,
        rangedReadsPerRun: reads / (repeats + 1),
        // The shards' bytes over the run's execute phase: reads overlap classification, so this is a floor.
        inRunReadMBps: rangeBytes / 1e6 / (s3.executeMs / 1000),
      },
      readOnly: { reads: ranges.length, bytes: bytesRead, seconds: readSeconds, MBps: bytesRead / 1e6 / readSeconds, concurrency: workers },
      clientBytesRatio: inline.clientBytes / Math.max(1, s3.clientBytes),
      imagesPerSecRatio: inline.seconds / s3.seconds,
      samePredictions: true,
    };
  } finally {
    process.env = saved;
    await raw.dispose();
    await server.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const images = process.env.BENCH_IMAGES ? Number(process.env.BENCH_IMAGES) : undefined;
  console.log(JSON.stringify(await benchObjectData({ ...(images ? { images } : {}) }), null, 2));
}
