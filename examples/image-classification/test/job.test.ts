import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, type Backend, type JobInput } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { classifyShard, DEFAULT_BATCH, imageClassification, makeTasks, summarize, type ImageOutput } from "../src/index.js";
import { loadFashionMnist } from "../src/idx.js";

const fixtures = fileURLToPath(new URL("./fixtures", import.meta.url));
const data = loadFashionMnist(fixtures, "test");

describe("image-classification job", () => {
  let backend: Backend;
  beforeAll(() => {
    backend = localBackend({ workers: 2 });
  });
  afterAll(() => backend.dispose());

  type Input = JobInput<typeof imageClassification>;
  const classify = async (tasks: number, extra: Partial<Input> = {}) =>
    run(imageClassification, { images: 300, data: fixtures, split: "test", batch: DEFAULT_BATCH, engine: "wasm", ...extra }, { backend, tasks });

  it("gives identical predictions through run() on the local backend for 1 and 7 tasks, and from map called directly", async () => {
    const one = (await classify(1)).output as ImageOutput;
    const seven = (await classify(7)).output as ImageOutput;
    const direct = summarize(await Promise.all(makeTasks(data, 300, 3).map((t) => classifyShard(t))), "test");
    expect(one.predictions).toHaveLength(300);
    expect(seven.predictions).toBe(one.predictions);
    expect(direct.predictions).toBe(one.predictions);
    expect(seven.predictionsSha256).toBe(one.predictionsSha256);
    expect(seven.confusion).toEqual(one.confusion);
    expect(one.kernels).toEqual(["wasm-simd"]);
    expect(one.accuracy).toBeGreaterThan(0.85);
  });

  it("reduces to an accuracy, a 10x10 confusion matrix and per-class precision and recall that agree with the labels", async () => {
    const { output } = await classify(4);
    const o = output as ImageOutput;
    const correct = [...o.predictions].filter((p, i) => Number(p) === data.labels[i]).length;
    expect(o.correct).toBe(correct);
    expect(o.accuracy).toBeCloseTo(correct / 300, 12);
    expect(o.confusion).toHaveLength(10);
    expect(o.confusion.flat().reduce((a, b) => a + b, 0)).toBe(300);
    for (let k = 0; k < 10; k++) {
      const row = o.confusion[k]!;
      const col = o.confusion.map((r) => r[k]!);
      const support = data.labels.filter((l) => l === k).length;
      expect(o.perClass[k]!.support).toBe(support);
      expect(row.reduce((a, b) => a + b, 0)).toBe(support);
      expect(o.perClass[k]!.recall).toBeCloseTo(row[k]! / support, 12);
      expect(o.perClass[k]!.precision).toBeCloseTo(row[k]! / col.reduce((a, b) => a + b, 0), 12);
    }
  });

  it("loads the model once per worker, not once per task", async () => {
    const { output } = await classify(12);
    const o = output as ImageOutput;
    expect(o.workers).toBeGreaterThanOrEqual(1);
    expect(o.modelLoads).toBe(o.workers);
  });

  it("reports images per second and formats a readable table", async () => {
    const { output, report } = await classify(2);
    expect(report.metrics.imagesPerSec).toBeGreaterThan(0);
    expect(report.metrics.accuracy).toBe((output as ImageOutput).accuracy);
    const text = imageClassification.format!(output as ImageOutput, report.metrics);
    expect(text).toMatch(/^Fashion-MNIST test set: 300 images, accuracy \d+\.\d\d% \(\d+ correct\), engine wasm-simd, [\d,]+ images\/s/);
    expect(text).toMatch(/^9 Ankle boot +\d+\.\d% +\d+\.\d% +\d+$/m);
    expect(text).toMatch(/confusion matrix \(rows: true class, columns: predicted class\)/);
    expect(text.split("\n").filter((l) => /^\d [A-Z]/.test(l))).toHaveLength(20);
  });

  it("runs the plain-JS cpu engine with the same predictions", async () => {
    const wasm = (await classify(2, { images: 60 })).output as ImageOutput;
    const cpu = (await classify(2, { images: 60, engine: "cpu" })).output as ImageOutput;
    expect(cpu.kernels).toEqual(["cpu"]);
    expect(cpu.predictions).toBe(wasm.predictions);
  });

  it("rejects more images than the data holds, unknown splits and engines, and a missing data folder", async () => {
    await expect(classify(1, { images: 301 })).rejects.toThrow(/--images 301 asks for more than the 300 images/);
    await expect(classify(1, { split: "validation" })).rejects.toThrow(/unknown split "validation"/);
    await expect(classify(1, { engine: "gpu" })).rejects.toThrow(/unknown engine "gpu"/);
    await expect(classify(1, { data: "/nonexistent" })).rejects.toMatchObject({ code: "BAD_INPUT", message: expect.stringMatching(/file not found/) });
    await expect(classify(1, { images: 0 })).rejects.toThrow(/below the minimum 1/);
  });
});
