import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { version_wasm } from "@tensorflow/tfjs-backend-wasm";
import { IMAGE_BYTES, loadFashionMnist } from "../src/idx.js";
import { createClassifier, decodeWeights, encodeWeights, fromFloat16Bits, parameterCount, tensorSpecs, toFloat16Bits } from "../src/model.js";
import { classifierLoads, loadClassifier } from "../src/classifier.js";
import { STORED_MODEL } from "../src/model-weights.js";
import { WASM_SIMD_GZIP_BASE64, WASM_SIMD_SHA256, WASM_SIMD_VERSION } from "../src/wasm-simd.js";

const fixtures = fileURLToPath(new URL("./fixtures", import.meta.url));
const data = loadFashionMnist(fixtures, "test");
const accuracyOf = (pred: Uint8Array, labels: Uint8Array) => pred.reduce((s, p, i) => s + (p === labels[i] ? 1 : 0), 0) / labels.length;

describe("float16 weight storage", () => {
  it("round-trips exactly representable values and rounds others to nearest, ties to even", () => {
    for (const v of [0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 3 * 2 ** -20]) expect(fromFloat16Bits(toFloat16Bits(v))).toBe(v);
    expect(fromFloat16Bits(toFloat16Bits(0.1))).toBe(0.0999755859375);
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and the next float16: ties to even (down)
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, odd below: up
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(-1e-9)).toBe(0x8000);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
  });

  it("keeps every normal-range value within half a float16 step (property over 20,000 values)", () => {
    let seed = 12345;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 20_000; i++) {
      const v = (next() - 0.5) * 2 ** (next() * 30 - 14);
      if (Math.abs(v) < 2 ** -14) continue;
      const f32 = Math.fround(v);
      const r = fromFloat16Bits(toFloat16Bits(f32));
      expect(Math.abs(r - f32)).toBeLessThanOrEqual(Math.abs(f32) * 2 ** -11);
    }
  });

  it("encodes and decodes a whole architecture's weights", () => {
    const a = { conv1: 2, conv2: 3, hidden: 4 };
    const arrays = tensorSpecs(a).map((s, i) => Float32Array.from({ length: s.shape.reduce((x, y) => x * y, 1) }, (_, j) => (i + 1) * 0.25 - j / 8));
    const back = decodeWeights({ architecture: a, float16Base64: encodeWeights(a, arrays), training: {} });
    expect(back).toEqual(arrays);
  });
});

describe("the committed model", () => {
  it("is the compact CNN, a few hundred KB, with its seed and honest test accuracy recorded", () => {
    const params = parameterCount(STORED_MODEL.architecture);
    expect(params).toBeLessThan(200_000);
    expect(STORED_MODEL.float16Base64.length).toBeLessThan(400_000);
    const t = STORED_MODEL.training as { seed: number; testAccuracy: number; testImages: number; parameters: number };
    expect(t.testImages).toBe(10_000);
    expect(t.testAccuracy).toBeGreaterThanOrEqual(0.91);
    expect(t.parameters).toBe(params);
    const json = JSON.parse(readFileSync(fileURLToPath(new URL("../training.json", import.meta.url)), "utf8"));
    expect(json.seed).toBe(t.seed);
    expect(json.testAccuracy).toBe(t.testAccuracy);
  });

  it("embeds the WebAssembly binary of the installed @tensorflow/tfjs-backend-wasm (rerun scripts/embed-wasm.mjs if not)", () => {
    const pkg = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json");
    const installed = readFileSync(join(dirname(pkg), "dist", "tfjs-backend-wasm-simd.wasm"));
    expect(WASM_SIMD_VERSION).toBe(version_wasm);
    expect(createHash("sha256").update(installed).digest("hex")).toBe(WASM_SIMD_SHA256);
    expect(gunzipSync(Buffer.from(WASM_SIMD_GZIP_BASE64, "base64")).equals(installed)).toBe(true);
  });

  it("classifies the 300 fixture images well on the wasm engine", async () => {
    const c = await loadClassifier("wasm");
    expect(c.kernel).toBe("wasm-simd");
    expect(accuracyOf(await c.classify(data.pixels), data.labels)).toBeGreaterThan(0.85);
  });

  it("gives bit-identical scores whatever the batch size", async () => {
    const c = await loadClassifier("wasm");
    const some = data.pixels.subarray(0, 40 * IMAGE_BYTES);
    const [a, b, d] = await Promise.all([c.logits(some, 1), c.logits(some, 7), c.logits(some, 256)]);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    expect(Buffer.from(d.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  it("predicts the same classes on the plain-JS cpu engine", async () => {
    const some = data.pixels.subarray(0, 100 * IMAGE_BYTES);
    const [wasm, cpu] = [await loadClassifier("wasm"), await loadClassifier("cpu")];
    expect(cpu.kernel).toBe("cpu");
    const [pw, pc] = [await wasm.classify(some), await cpu.classify(some)];
    expect(Array.from(pc)).toEqual(Array.from(pw));
    const [lw, lc] = [await wasm.logits(some), await cpu.logits(some)];
    lw.forEach((v, i) => expect(Math.abs(v - lc[i]!)).toBeLessThan(1e-3));
  });

  it("loads the model once per engine and shares it between callers", async () => {
    const before = classifierLoads();
    const [a, b] = await Promise.all([loadClassifier("wasm"), loadClassifier("wasm")]);
    expect(a).toBe(b);
    expect(classifierLoads()).toBe(before);
  });

  it("rejects pixel data that is not whole images and a batch below one", async () => {
    const c = await createClassifier(STORED_MODEL, "wasm");
    await expect(c.classify(new Uint8Array(IMAGE_BYTES + 1))).rejects.toThrow(/not a whole number of 784-byte images/);
    await expect(c.classify(new Uint8Array(IMAGE_BYTES), 0)).rejects.toThrow(/batch must be/);
    c.dispose();
  });
});
