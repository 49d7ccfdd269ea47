import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putObject, run, type Backend, type JobInput, type S3Access } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { startS3Server, type S3TestServer } from "@superfaas/testing";
import { imageClassification, uploadFashionMnist, type ImageOutput, type ImageTask } from "../src/index.js";

const fixtures = fileURLToPath(new URL("./fixtures", import.meta.url));

describe("image-classification reading its own shards (s3:// and file://)", () => {
  let backend: Backend;
  let server: S3TestServer;
  let access: S3Access;
  let dir: string;
  const saved = { ...process.env };
  type Input = JobInput<typeof imageClassification>;
  const classify = async (data: string, tasks: number, extra: Partial<Input> = {}) =>
    run(imageClassification, { images: 120, data, split: "test", batch: 64, engine: "wasm", ...extra }, { backend, tasks });

  beforeAll(async () => {
    server = await startS3Server({ buckets: ["data"] });
    access = { endpoint: server.endpoint, region: server.region, credentials: server.credentials };
    // The orchestrator and the local backend's workers find S3 through the usual variables, as on a real machine.
    Object.assign(process.env, { AWS_ENDPOINT_URL_S3: server.endpoint, AWS_ACCESS_KEY_ID: server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey, AWS_REGION: server.region });
    dir = await mkdtemp(join(tmpdir(), "superfaas-ic-"));
    await uploadFashionMnist(fixtures, "s3://data/fashion", { splits: ["test"], access });
    await uploadFashionMnist(fixtures, pathToFileURL(dir).href, { splits: ["test"] });
    backend = localBackend({ workers: 2 });
  });
  afterAll(async () => {
    process.env = saved;
    await backend?.dispose();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let inline: ImageOutput;

  it("predicts exactly what the inline mode predicts, from S3 and from local files, with only ranges in the tasks", async () => {
    inline = (await classify(fixtures, 3)).output as ImageOutput;
    const before = server.rangedReads.length;
    const fromS3 = (await classify("s3://data/fashion", 5)).output as ImageOutput;
    const fromFiles = (await classify(pathToFileURL(dir).href, 4)).output as ImageOutput;
    expect(fromS3.predictions).toBe(inline.predictions);
    expect(fromS3.confusion).toEqual(inline.confusion);
    expect(fromFiles.predictions).toBe(inline.predictions);
    // Each of the 5 tasks read its images and its labels with one ranged GET each, and nothing failed.
    const reads = server.rangedReads.slice(before).filter((r) => r.path.startsWith("data/fashion/"));
    expect(reads.filter((r) => r.path.endsWith("images-idx3-ubyte") && r.range !== "bytes=0-15")).toHaveLength(5);
    expect(reads.every((r) => r.status === 206)).toBe(true);
    const tasks = (await imageClassification.partition({ images: 120, data: "s3://data/fashion", split: "test", batch: 64, engine: "wasm" }, { tasks: 5, concurrency: 2 })) as ImageTask[];
    const json = JSON.stringify(tasks);
    expect(json.length).toBeLessThan(2_000);
    expect(json).not.toContain(server.credentials.secretAccessKey);
    expect(tasks[1]).toMatchObject({ start: 24, count: 24, ranges: { images: { url: "s3://data/fashion/t10k-images-idx3-ubyte", start: 16 + 24 * 784, end: 16 + 48 * 784 }, labels: { start: 32, end: 56 } } });
  });

  it("survives transient S3 errors during the shards' range reads with the same predictions", async () => {
    server.failNextReads(3, { status: 503, match: /labels-idx1-ubyte$/ });
    const flaky = await classify("s3://data/fashion", 2, { images: 60 });
    // Predictions are per image: the first 60 are those of the inline run over 120.
    expect((flaky.output as ImageOutput).predictions).toBe(inline.predictions.slice(0, 60));
    // The reader retried inside the attempts: no task needed a second attempt.
    expect(flaky.report.totals.retries).toBe(0);
  });

  const script = fileURLToPath(new URL("../scripts/upload.mjs", import.meta.url));
  const built = existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url)));
  it.skipIf(!built)("uploads the IDX files uncompressed with scripts/upload.mjs, and refuses bad usage in one line", async () => {
    const out = await mkdtemp(join(tmpdir(), "superfaas-ic-up-"));
    const ok = spawnSync(process.execPath, [script, pathToFileURL(out).href, "--data", fixtures, "--split", "test"], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/uploaded file:.*t10k-images-idx3-ubyte \(235,216 bytes\)/);
    expect(statSync(join(out, "t10k-labels-idx1-ubyte")).size).toBe(8 + 300);
    const bad = spawnSync(process.execPath, [script, "/not/a/url"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error\[BAD_INPUT\]: give one destination — node scripts\/upload\.mjs s3:\/\/BUCKET\/PREFIX/)]);
    await rm(out, { recursive: true, force: true });
  });

  it("says what is wrong with missing, gzipped or short data, and how to fix it", async () => {
    await expect(classify("s3://data/nowhere", 1)).rejects.toMatchObject({ code: "BAD_INPUT", message: expect.stringMatching(/Fashion-MNIST file not found: s3:\/\/data\/nowhere\/t10k-(images-idx3|labels-idx1)-ubyte/), hint: expect.stringMatching(/upload\.mjs/) });
    const gz = await mkdtemp(join(tmpdir(), "superfaas-ic-gz-"));
    for (const name of ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) await writeFile(join(gz, name), await import("node:fs/promises").then((f) => f.readFile(join(fixtures, `${name}.gz`))));
    await expect(classify(pathToFileURL(gz).href, 1)).rejects.toThrow(/not an uncompressed IDX images file \(it is gzipped\)/);
    await rm(gz, { recursive: true, force: true });
    await putObject("s3://data/short/t10k-images-idx3-ubyte", new Uint8Array([0, 0, 8, 3, 0, 0, 1, 44, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2]), access);
    await putObject("s3://data/short/t10k-labels-idx1-ubyte", new Uint8Array([0, 0, 8, 1, 0, 0, 1, 44, 1]), access);
    await expect(classify("s3://data/short", 1)).rejects.toThrow(/is not as long as its header announces/);
    await expect(classify("s3://data/fashion", 1, { images: 301 })).rejects.toThrow(/--images 301 asks for more than the 300 images/);
  });
});
