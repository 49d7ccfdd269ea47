// The compact CNN: conv3x3(c1)+ReLU → maxpool2 → conv3x3(c2)+ReLU → maxpool2 → dense(hidden)+ReLU → dense(10).
// Weights are stored as float16 in base64 inside a module, so the bundled map side needs no file system.
import * as tf from "@tensorflow/tfjs-core";
import { IMAGE_BYTES, IMAGE_SIDE } from "./idx.js";
import { useEngine, type Engine } from "./engine.js";

/** Layer widths of the CNN. */
export interface Architecture {
  conv1: number;
  conv2: number;
  hidden: number;
}

/** Number of Fashion-MNIST classes. */
export const CLASSES = 10;

/** Fashion-MNIST class names, by label. */
export const CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"] as const;

/** Name and shape of one weight tensor, in storage order. */
export interface TensorSpec {
  name: string;
  shape: number[];
}

/** The weight tensors of an architecture, in the order they are stored. */
export function tensorSpecs(a: Architecture): TensorSpec[] {
  const flat = (IMAGE_SIDE / 4) * (IMAGE_SIDE / 4) * a.conv2;
  return [
    { name: "conv1/kernel", shape: [3, 3, 1, a.conv1] },
    { name: "conv1/bias", shape: [a.conv1] },
    { name: "conv2/kernel", shape: [3, 3, a.conv1, a.conv2] },
    { name: "conv2/bias", shape: [a.conv2] },
    { name: "dense1/kernel", shape: [flat, a.hidden] },
    { name: "dense1/bias", shape: [a.hidden] },
    { name: "dense2/kernel", shape: [a.hidden, CLASSES] },
    { name: "dense2/bias", shape: [CLASSES] },
  ];
}

/** A trained model as committed: its architecture, its weights and how it was made. */
export interface StoredModel {
  architecture: Architecture;
  /** All weights back to back in `tensorSpecs` order, float16 little-endian, base64. */
  float16Base64: string;
  training: Record<string, unknown>;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Total number of weights of an architecture. */
export function parameterCount(a: Architecture): number {
  return tensorSpecs(a).reduce((s, t) => s + size(t.shape), 0);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds a float32 to the nearest float16 (ties to even) and returns its bits. */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000; // subnormal: shift the implicit bit in
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** The float32 value of float16 bits. */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encodes weight arrays (in `tensorSpecs` order) as float16 base64. */
export function encodeWeights(a: Architecture, arrays: Float32Array[]): string {
  const specs = tensorSpecs(a);
  if (arrays.length !== specs.length) throw new Error(`expected ${specs.length} weight arrays, got ${arrays.length}`);
  const bytes = Buffer.alloc(parameterCount(a) * 2);
  let at = 0;
  arrays.forEach((arr, i) => {
    if (arr.length !== size(specs[i]!.shape)) throw new Error(`${specs[i]!.name}: expected ${size(specs[i]!.shape)} values, got ${arr.length}`);
    for (const v of arr) at = bytes.writeUInt16LE(toFloat16Bits(v), at);
  });
  return bytes.toString("base64");
}

/** Decodes a stored model's weights into float32 arrays, one per `tensorSpecs` entry. */
export function decodeWeights(model: StoredModel): Float32Array[] {
  const bytes = Buffer.from(model.float16Base64, "base64");
  const specs = tensorSpecs(model.architecture);
  if (bytes.length !== parameterCount(model.architecture) * 2) {
    throw new Error(`stored weights hold ${bytes.length / 2} values, the architecture needs ${parameterCount(model.architecture)}`);
  }
  let at = 0;
  return specs.map((s) => {
    const out = new Float32Array(size(s.shape));
    for (let i = 0; i < out.length; i++, at += 2) out[i] = fromFloat16Bits(bytes.readUInt16LE(at));
    return out;
  });
}

/** Scales bytes 0–255 to floats 0–1, the model's input; training and inference share it so both see equal inputs. */
export function toInput(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]! / 255;
  return out;
}

/** A loaded model on one engine. */
export interface Classifier {
  /** "wasm-simd" or "cpu". */
  kernel: string;
  architecture: Architecture;
  /** Class of each of the images (784 bytes each), computed `batch` images at a time. */
  classify(pixels: Uint8Array, batch?: number): Promise<Uint8Array>;
  /** The raw scores (count×10), for tests of determinism. */
  logits(pixels: Uint8Array, batch?: number): Promise<Float32Array>;
  /** Frees the weight tensors. */
  dispose(): void;
}

/** Default images per forward pass; larger batches amortise per-op overhead until caches overflow. */
export const DEFAULT_BATCH = 128;

/** Loads `model` onto `engine` and returns a classifier. Costs a few milliseconds; callers cache it. */
export async function createClassifier(model: StoredModel, engine: Engine = "wasm"): Promise<Classifier> {
  const kernel = await useEngine(engine);
  const a = model.architecture;
  const specs = tensorSpecs(a);
  const [k1, b1, k2, b2, d1, c1, d2, c2] = decodeWeights(model).map((values, i) => tf.tensor(values, specs[i]!.shape, "float32"));
  const weights = [k1!, b1!, k2!, b2!, d1!, c1!, d2!, c2!];
  const flat = specs[4]!.shape[0]!;

  const forward = (x: tf.Tensor4D): tf.Tensor2D => {
    let h: tf.Tensor4D = tf.fused.conv2d({ x, filter: k1 as tf.Tensor4D, strides: 1, pad: "same", bias: b1, activation: "relu" });
    h = tf.maxPool(h, 2, 2, "valid");
    h = tf.fused.conv2d({ x: h, filter: k2 as tf.Tensor4D, strides: 1, pad: "same", bias: b2, activation: "relu" });
    h = tf.maxPool(h, 2, 2, "valid");
    const hidden = tf.fused.matMul({ a: tf.reshape(h, [x.shape[0], flat]), b: d1 as tf.Tensor2D, bias: c1, activation: "relu" });
    return tf.fused.matMul({ a: hidden, b: d2 as tf.Tensor2D, bias: c2 }) as tf.Tensor2D;
  };

  // Runs the batches on this classifier's engine, even when another caller switched engines in between.
  async function eachBatch(pixels: Uint8Array, batch: number, body: (x: tf.Tensor4D, start: number) => void): Promise<void> {
    if (pixels.length % IMAGE_BYTES !== 0) throw new Error(`pixel data of ${pixels.length} bytes is not a whole number of ${IMAGE_BYTES}-byte images`);
    if (!Number.isSafeInteger(batch) || batch < 1) throw new Error(`batch must be a whole number >= 1, got ${batch}`);
    await useEngine(engine);
    const count = pixels.length / IMAGE_BYTES;
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      tf.tidy(() => body(tf.tensor4d(toInput(pixels.subarray(start * IMAGE_BYTES, (start + n) * IMAGE_BYTES)), [n, IMAGE_SIDE, IMAGE_SIDE, 1]), start));
    }
  }

  return {
    kernel,
    architecture: a,
    async classify(pixels, batch = DEFAULT_BATCH) {
      const out = new Uint8Array(pixels.length / IMAGE_BYTES);
      await eachBatch(pixels, batch, (x, start) => out.set(tf.argMax(forward(x), 1).dataSync(), start));
      return out;
    },
    async logits(pixels, batch = DEFAULT_BATCH) {
      const out = new Float32Array((pixels.length / IMAGE_BYTES) * CLASSES);
      await eachBatch(pixels, batch, (x, start) => out.set(forward(x).dataSync() as Float32Array, start * CLASSES));
      return out;
    },
    dispose: () => tf.dispose(weights),
  };
}
