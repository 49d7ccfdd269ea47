#!/usr/bin/env node
// Trains the compact CNN on the 60,000 Fashion-MNIST training images with TensorFlow.js on its WebAssembly backend,
// then writes src/model-weights.ts (float16 weights in base64) and training.json (seed, settings, accuracies).
//
//   pnpm --filter @superfaas/example-image-classification train            (builds first; about 30 min on one shared core)
//   node scripts/train.mjs --seed 1 --epochs 10 --data /usr/share/datasets/fashion-mnist
//
// The wasm backend has no Conv2DBackpropFilter kernel, so the training graph writes each 3x3 convolution as
// im2col (nine shifted slices) times a matrix; the matrix is the conv kernel [3,3,in,out] flattened, so inference
// runs the same weights through the fused conv2d kernels. A check at start-up proves the two graphs agree.
// 5,000 training images are held out to pick the epoch; the test set is scored once, at the end.
import * as tf from "@tensorflow/tfjs";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_DATA_DIR, IMAGE_BYTES, IMAGE_SIDE, loadFashionMnist } from "../dist/idx.js";
import { CLASSES, createClassifier, decodeWeights, encodeWeights, parameterCount, tensorSpecs, toInput } from "../dist/model.js";
import { useEngine } from "../dist/engine.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    epochs: { type: "string", default: "10" },
    batch: { type: "string", default: "64" },
    lr: { type: "string", default: "0.002" },
    dropout: { type: "string", default: "0.25" },
    flip: { type: "boolean", default: true },
    conv1: { type: "string", default: "16" },
    conv2: { type: "string", default: "32" },
    hidden: { type: "string", default: "64" },
    val: { type: "string", default: "5000" },
    data: { type: "string", default: DEFAULT_DATA_DIR },
    out: { type: "string", default: join(here, "..", "src", "model-weights.ts") },
    report: { type: "string", default: join(here, "..", "training.json") },
  },
});
const seed = Number(opt.seed);
const epochs = Number(opt.epochs);
const batch = Number(opt.batch);
const baseLr = Number(opt.lr);
const dropout = Number(opt.dropout);
const arch = { conv1: Number(opt.conv1), conv2: Number(opt.conv2), hidden: Number(opt.hidden) };
const log = (m) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);

// mulberry32: a small seeded generator, so initial weights, shuffles, flips and dropout repeat for a seed.
function rng(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(seed);
const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
function shuffle(arr) {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr;
}

const kernel = await useEngine("wasm");
log(`TensorFlow.js ${tf.version.tfjs}, backend ${kernel}, seed ${seed}, ${epochs} epochs, batch ${batch}, lr ${baseLr} (cosine), dropout ${dropout}, flips ${opt.flip}`);
const train = loadFashionMnist(opt.data, "train");
const test = loadFashionMnist(opt.data, "test");
const order = shuffle(Array.from({ length: train.count }, (_, i) => i));
const valIdx = order.slice(0, Number(opt.val));
const fitIdx = order.slice(Number(opt.val));
const gather = (src, idx, width) => {
  const out = new Uint8Array(idx.length * width);
  idx.forEach((i, k) => out.set(src.subarray(i * width, (i + 1) * width), k * width));
  return out;
};
const valPixels = gather(train.pixels, valIdx, IMAGE_BYTES);
const valLabels = gather(train.labels, valIdx, 1);
log(`${fitIdx.length} images to fit, ${valIdx.length} held out to pick the epoch, ${test.count} test images scored once at the end`);

// Weights as variables in the training layout: conv kernels as [9*in, out] matrices.
const specs = tensorSpecs(arch);
const he = (n, fanIn, gain = 2) => Float32Array.from({ length: n }, () => normal() * Math.sqrt(gain / fanIn));
const W = specs.map((s, i) => {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const isBias = s.name.endsWith("/bias");
  const fanIn = s.shape.length === 4 ? s.shape[0] * s.shape[1] * s.shape[2] : s.shape[0];
  const values = isBias ? new Float32Array(n) : he(n, fanIn, i === 6 ? 1 : 2);
  const shape = s.shape.length === 4 ? [9 * s.shape[2], s.shape[3]] : s.shape;
  return tf.variable(tf.tensor(values, shape), true, s.name);
});
const [W1, B1, W2, B2, W3, B3, W4, B4] = W;
const flat = specs[4].shape[0];

// matMul whose gradients use explicit transposes: the wasm backend's fast (XNNPACK) path has no transposeA.
const mm = tf.customGrad((a, w, save) => {
  save([a, w]);
  return { value: tf.matMul(a, w), gradFunc: (dy, [a2, w2]) => [tf.matMul(dy, tf.transpose(w2)), tf.matMul(tf.transpose(a2), dy)] };
});
// im2col for a 3x3 'same' convolution: row (image, y, x), column (dy*3+dx)*channels + c, as conv2d's kernel layout.
function im2col(x) {
  const [n, h, w, c] = x.shape;
  const p = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const shifted = [];
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) shifted.push(tf.slice(p, [0, dy, dx, 0], [n, h, w, c]));
  return tf.reshape(tf.transpose(tf.reshape(tf.concat(shifted, 0), [9, n * h * w, c]), [1, 0, 2]), [n * h * w, 9 * c]);
}
function logitsOf(cols1, n, mask) {
  let h = tf.reshape(tf.relu(tf.add(tf.matMul(cols1, W1), B1)), [n, IMAGE_SIDE, IMAGE_SIDE, arch.conv1]);
  h = tf.maxPool(h, 2, 2, "valid");
  h = tf.reshape(tf.relu(tf.add(mm(im2col(h), W2), B2)), [n, IMAGE_SIDE / 2, IMAGE_SIDE / 2, arch.conv2]);
  h = tf.maxPool(h, 2, 2, "valid");
  let d = tf.relu(tf.add(mm(tf.reshape(h, [n, flat]), W3), B3));
  if (mask) d = tf.mul(d, mask);
  return tf.add(tf.matMul(d, W4), B4);
}
const snapshot = () => ({ architecture: arch, float16Base64: encodeWeights(arch, W.map((v) => v.dataSync())), training: {} });

// The training graph and the inference graph must compute the same function of the same weights. The initial
// weights are rounded to float16 first, so both graphs see identical values.
{
  const rounded = decodeWeights(snapshot());
  W.forEach((v, i) => v.assign(tf.tensor(rounded[i], v.shape)));
  const probe = valPixels.subarray(0, 8 * IMAGE_BYTES);
  const ref = await createClassifier(snapshot(), "wasm");
  const a = await ref.logits(probe);
  ref.dispose();
  const b = tf.tidy(() => logitsOf(im2col(tf.tensor4d(toInput(probe), [8, IMAGE_SIDE, IMAGE_SIDE, 1])), 8, null).dataSync());
  const diff = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
  if (!(diff < 1e-3)) throw new Error(`training and inference graphs disagree (max |logit diff| ${diff})`);
  log(`training and inference graphs agree (max |logit diff| ${diff.toExponential(1)})`);
}

async function accuracy(model, pixels, labels) {
  const c = await createClassifier(model, "wasm");
  const pred = await c.classify(pixels);
  c.dispose();
  let hits = 0;
  for (let i = 0; i < labels.length; i++) hits += pred[i] === labels[i] ? 1 : 0;
  return hits / labels.length;
}

const optimizer = tf.train.adam(baseLr);
const stepsPerEpoch = Math.floor(fitIdx.length / batch);
const totalSteps = stepsPerEpoch * epochs;
const history = [];
let best = { valAccuracy: -1, epoch: 0, model: null };
const started = performance.now();
const xBuf = new Uint8Array(batch * IMAGE_BYTES);
const yBuf = new Int32Array(batch);
let step = 0;
for (let epoch = 1; epoch <= epochs; epoch++) {
  const t0 = performance.now();
  shuffle(fitIdx);
  let lossSum = 0;
  for (let s = 0; s < stepsPerEpoch; s++, step++) {
    for (let k = 0; k < batch; k++) {
      const i = fitIdx[s * batch + k];
      const src = train.pixels.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES);
      const dst = xBuf.subarray(k * IMAGE_BYTES, (k + 1) * IMAGE_BYTES);
      if (opt.flip && rand() < 0.5) {
        for (let y = 0; y < IMAGE_SIDE; y++) for (let x = 0; x < IMAGE_SIDE; x++) dst[y * IMAGE_SIDE + x] = src[y * IMAGE_SIDE + IMAGE_SIDE - 1 - x];
      } else dst.set(src);
      yBuf[k] = train.labels[i];
    }
    const maskValues = dropout > 0 ? Float32Array.from({ length: batch * arch.hidden }, () => (rand() < dropout ? 0 : 1 / (1 - dropout))) : null;
    optimizer.learningRate = baseLr * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps));
    const [cols1, y, mask] = tf.tidy(() => [
      im2col(tf.tensor4d(toInput(xBuf), [batch, IMAGE_SIDE, IMAGE_SIDE, 1])),
      tf.oneHot(tf.tensor1d(yBuf, "int32"), CLASSES),
      maskValues ? tf.tensor2d(maskValues, [batch, arch.hidden]) : null,
    ]);
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, logitsOf(cols1, batch, mask)), true);
    if (s % 50 === 0 || s === stepsPerEpoch - 1) lossSum += loss.dataSync()[0];
    tf.dispose([cols1, y, mask, loss].filter(Boolean));
    if (s % 200 === 199) log(`epoch ${epoch} step ${s + 1}/${stepsPerEpoch} loss ${(lossSum / (Math.floor(s / 50) + 1)).toFixed(4)}`);
  }
  const model = snapshot();
  const valAccuracy = await accuracy(model, valPixels, valLabels);
  const seconds = (performance.now() - t0) / 1000;
  history.push({ epoch, valAccuracy, seconds: Math.round(seconds) });
  log(`epoch ${epoch}: held-out accuracy ${valAccuracy.toFixed(4)}, ${seconds.toFixed(0)} s (${(fitIdx.length / seconds).toFixed(0)} images/s)`);
  if (valAccuracy > best.valAccuracy) best = { valAccuracy, epoch, model };
}
const trainSeconds = (performance.now() - started) / 1000;
const testAccuracy = await accuracy(best.model, test.pixels, test.labels);
log(`picked epoch ${best.epoch} (held-out ${best.valAccuracy.toFixed(4)}); TEST accuracy on all ${test.count} test images: ${testAccuracy.toFixed(4)}`);

const training = {
  script: "scripts/train.mjs",
  seed,
  epochs,
  pickedEpoch: best.epoch,
  batch,
  learningRate: { base: baseLr, schedule: "cosine to 0 over all steps", optimizer: "adam" },
  dropout,
  horizontalFlips: opt.flip,
  architecture: `conv3x3(${arch.conv1})+relu, maxpool2, conv3x3(${arch.conv2})+relu, maxpool2, dense(${arch.hidden})+relu, dense(10)`,
  parameters: parameterCount(arch),
  weightFormat: "float16",
  fitImages: fitIdx.length,
  heldOutImages: valIdx.length,
  heldOutAccuracy: best.valAccuracy,
  testImages: test.count,
  testAccuracy,
  history,
  trainSeconds: Math.round(trainSeconds),
  tfjs: tf.version.tfjs,
  backend: kernel,
  node: process.version,
  date: new Date().toISOString(),
};
const stored = { ...best.model, training };
writeFileSync(
  opt.out,
  `// Generated by scripts/train.mjs (seed ${seed}); do not edit. Settings and accuracies: training.json.\n` +
    `import type { StoredModel } from "./model.js";\n\n` +
    `/** The trained classifier: test accuracy ${testAccuracy.toFixed(4)} on all ${test.count} Fashion-MNIST test images. */\n` +
    `export const STORED_MODEL: StoredModel = {\n` +
    `  architecture: ${JSON.stringify(arch)},\n` +
    `  training: ${JSON.stringify(training)},\n` +
    `  float16Base64:\n    ${JSON.stringify(stored.float16Base64)},\n};\n`,
);
writeFileSync(opt.report, `${JSON.stringify(training, null, 2)}\n`);
log(`wrote ${opt.out} (${stored.float16Base64.length} base64 chars) and ${opt.report}`);
