// The pi kernel: counts the hits of a range of the counter-based point stream (defined in reference.ts). Uses the
// WebAssembly SIMD kernel (pi.wat, embedded as base64 so bundles need no file) where the runtime validates it, and
// plain JavaScript otherwise; both give the same count for the same range, so a task's result never depends on
// which one ran. The job's `kernel` parameter (`--kernel js`) asks for the JavaScript kernel everywhere.
import { checkRange, countHitsJs } from "./js.js";
import { WASM_BASE64 } from "./wasm-bytes.js";

export { countHitsJs } from "./js.js";

/** hits(seed, hi, lo, n): hits among points [lo, lo + n) of block hi; lo + n <= 2^32, n < 2^31 (pi.wat). */
type BlockHits = (seed: number, hi: number, lo: number, n: number) => number;

const TWO32 = 4294967296;
/** Points per call into WebAssembly: short enough that V8 moves the loop to optimised code within a few calls. */
const CHUNK = 1 << 20;

// The few WebAssembly JS-API members used here (the project's TypeScript libs carry no WebAssembly types).
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

let wasmHits: BlockHits | null | undefined;

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The WebAssembly kernel, compiled and instantiated synchronously once per thread; null where unsupported. */
function wasmKernel(): BlockHits | null {
  if (wasmHits !== undefined) return wasmHits;
  wasmHits = null;
  try {
    if (typeof WebAssembly === "object") {
      const bytes = decodeBase64(WASM_BASE64);
      if (WebAssembly.validate(bytes)) {
        const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
        wasmHits = instance.exports.hits as BlockHits;
      }
    }
  } catch {
    wasmHits = null; // no SIMD, or WebAssembly disabled: the JavaScript kernel serves
  }
  return wasmHits;
}

/** The kernel a run asks for: "wasm" (WebAssembly SIMD where the runtime validates it, else JavaScript) or "js". */
export type KernelChoice = "wasm" | "js";

/** Whether the WebAssembly SIMD kernel can run here. */
export function wasmAvailable(): boolean {
  return wasmKernel() !== null;
}

/** Hits among points [start, start + count) of the stream of `seed`, with the WebAssembly SIMD kernel. */
export function countHitsWasm(seed: number, start: number, count: number): number {
  checkRange(seed, start, count);
  const hits = wasmKernel();
  if (!hits) throw new Error("pi kernel: WebAssembly SIMD is not available in this runtime");
  const s = seed | 0;
  let total = 0;
  while (count > 0) {
    const hi = Math.floor(start / TWO32);
    const lo = start - hi * TWO32;
    const n = Math.min(count, TWO32 - lo, CHUNK);
    total += hits(s, hi, lo | 0, n);
    start += n;
    count -= n;
  }
  return total;
}

/** "wasm-simd" or "js": the kernel that countHits uses in this thread for that choice. */
export function kernelName(choice: KernelChoice = "wasm"): string {
  return choice === "wasm" && wasmKernel() ? "wasm-simd" : "js";
}

/**
 * Hits among points [start, start + count) of the stream of `seed` (a u32): points whose coordinates (x, y),
 * uniform u32 each, have x^2 + y^2 < 2^64. start and count are whole numbers with start + count <= 2^53.
 */
export function countHits(seed: number, start: number, count: number, choice: KernelChoice = "wasm"): number {
  return kernelName(choice) === "wasm-simd" ? countHitsWasm(seed, start, count) : countHitsJs(seed, start, count);
}
