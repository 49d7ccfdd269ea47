// The pi kernel on one core: native C (examples/pi/kernel/pi.c, gcc -O3 -march=native, vectorised by gcc) vs the
// WebAssembly SIMD kernel vs the plain-JavaScript kernel, all on the same range of the same stream, which must give
// the same hit count. Used by bench/run.mjs ("kernel"); also runs alone:
//
//   node bench/pi-kernel.mjs [POINTS]      (build examples/pi first: cd examples/pi && pnpm run build)
//
// The JavaScript side is the BUILT package (examples/pi/dist), as a deployment would run it. The native program is
// a child process that times itself (startup excluded). Each kernel runs `rounds` times, interleaved so that drift
// on a shared machine hits all three alike, and the best round counts. Rates are points per CPU-second of the one
// busy thread (process CPU time, which a busy neighbour on a shared machine does not inflate); wall-clock seconds
// are reported beside them.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const piDir = join(here, "..", "examples", "pi");
const kernelModule = join(piDir, "dist", "kernel", "index.js");
const cSource = join(piDir, "kernel", "pi.c");
export const NATIVE_FLAGS = ["-O3", "-march=native"];

async function loadKernel() {
  if (!existsSync(kernelModule)) throw new Error(`pi kernel bench: ${kernelModule} is missing; run \`pnpm run build\` in examples/pi first`);
  const k = await import(pathToFileURL(kernelModule).href);
  if (!k.wasmAvailable()) throw new Error("pi kernel bench: WebAssembly SIMD is not available in this Node");
  return k;
}

function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function timed(f) {
  const t0 = performance.now();
  const c0 = cpuSeconds();
  const hits = f();
  return { hits, cpuSeconds: cpuSeconds() - c0, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Single-core points per second of the native, WebAssembly and JavaScript pi kernels on the same `points` points
 * (a range that crosses 2^32). Throws if the three hit counts differ.
 */
export async function benchPiKernel({ points = Number(process.env.BENCH_PI_KERNEL_POINTS ?? 1e9), seed = 7, rounds = 3, log = () => {} } = {}) {
  if (!Number.isSafeInteger(points) || points < 1) throw new Error(`pi kernel bench: points must be a whole number >= 1, got ${points}`);
  const start = Math.max(0, 2 ** 32 - Math.floor(points / 2));
  const k = await loadKernel();
  const dir = await mkdtemp(join(tmpdir(), "superfaas-pi-kernel-"));
  try {
    const exe = join(dir, "pi");
    const { stdout: gccVersion } = await run("gcc", ["--version"]);
    await run("gcc", [...NATIVE_FLAGS, "-o", exe, cSource]);

    // Warm up: V8 compiles the WebAssembly and JavaScript loops with its optimising tier after a few calls.
    k.countHitsWasm(seed, 0, 1 << 26);
    k.countHitsJs(seed, 0, 1 << 24);

    const best = { native: undefined, wasm: undefined, js: undefined };
    const keep = (name, r) => {
      if (best[name] && best[name].hits !== r.hits) throw new Error(`pi kernel bench: ${name} gave ${r.hits} hits, then ${best[name].hits}`);
      if (!best[name] || r.cpuSeconds < best[name].cpuSeconds) best[name] = r;
    };
    for (let round = 0; round < rounds; round++) {
      const { stdout } = await run(exe, [String(seed), String(start), String(points), "1"]);
      const native = JSON.parse(stdout);
      keep("native", { hits: native.hits, cpuSeconds: native.cpuSeconds, seconds: native.seconds });
      keep("wasm", timed(() => k.countHitsWasm(seed, start, points)));
      keep("js", timed(() => k.countHitsJs(seed, start, points)));
      log(`round ${round + 1}/${rounds}, best CPU seconds so far: native ${best.native.cpuSeconds.toFixed(2)}, wasm ${best.wasm.cpuSeconds.toFixed(2)}, js ${best.js.cpuSeconds.toFixed(2)}`);
    }
    const { native, wasm, js } = best;
    if (native.hits !== wasm.hits || wasm.hits !== js.hits) {
      throw new Error(`pi kernel bench: hit counts differ: native ${native.hits}, wasm ${wasm.hits}, js ${js.hits}`);
    }
    const rate = (r) => ({ pointsPerSec: points / r.cpuSeconds, cpuSeconds: r.cpuSeconds, wallSeconds: r.seconds });
    const result = {
      points,
      seed,
      start,
      hits: wasm.hits,
      nativePointsPerSec: points / native.cpuSeconds,
      wasmPointsPerSec: points / wasm.cpuSeconds,
      jsPointsPerSec: points / js.cpuSeconds,
      ratioWasmToNative: native.cpuSeconds / wasm.cpuSeconds,
      ratioJsToNative: native.cpuSeconds / js.cpuSeconds,
      native: { ...rate(native), compiler: gccVersion.split("\n")[0], flags: NATIVE_FLAGS.join(" ") },
      wasm: rate(wasm),
      js: rate(js),
    };
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = process.argv[2];
  const result = await benchPiKernel({
    ...(arg ? { points: Number(arg) } : {}),
    log: (m) => process.stderr.write(`pi-kernel: ${m}\n`),
  });
  console.log(JSON.stringify(result, null, 2));
}
