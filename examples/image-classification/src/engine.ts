// Which TensorFlow.js backend runs the model. Both ship inside their npm packages: `wasm` (XNNPACK kernels, SIMD)
// and `cpu` (plain JavaScript, the baseline). No native binary is involved.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths, version_wasm } from "@tensorflow/tfjs-backend-wasm";
import { gunzipSync } from "node:zlib";
import { SuperfaasError } from "@superfaas/core";
import { WASM_SIMD_GZIP_BASE64, WASM_SIMD_VERSION } from "./wasm-simd.js";

/** The TensorFlow.js backends the model can run on. */
export type Engine = "wasm" | "cpu";

/** The engines, fastest first. */
export const ENGINES: readonly Engine[] = ["wasm", "cpu"];

let wasmConfigured = false;
let prodMode = false;

function configureWasm(): void {
  if (wasmConfigured) return;
  if (version_wasm !== WASM_SIMD_VERSION) {
    throw new SuperfaasError(
      "INTERNAL",
      `the embedded WebAssembly binary is from @tensorflow/tfjs-backend-wasm ${WASM_SIMD_VERSION} but ${version_wasm} is installed`,
      "run `node scripts/embed-wasm.mjs` in examples/image-classification to embed the installed binary",
    );
  }
  // The binary travels inside the bundle and reaches the backend as a data: URL through Node's fetch, so no .wasm
  // file has to sit beside the single-file function.
  const url = `data:application/wasm;base64,${gunzipSync(Buffer.from(WASM_SIMD_GZIP_BASE64, "base64")).toString("base64")}`;
  setWasmPaths({ "tfjs-backend-wasm.wasm": url, "tfjs-backend-wasm-simd.wasm": url, "tfjs-backend-wasm-threaded-simd.wasm": url }, true);
  // Node 14 and 16 (OpenWhisk's nodejs:14 and nodejs:16 kinds) have no global fetch, and TensorFlow.js would then
  // require node-fetch, which the bundle does not carry: there the platform's fetch reads the data: URL itself.
  if (typeof (globalThis as { fetch?: unknown }).fetch !== "function") {
    const platform = tf.env().platform as { fetch(path: string, init?: unknown): Promise<unknown> };
    const fetchOther = platform.fetch.bind(platform);
    platform.fetch = async (path, init) => {
      if (!path.startsWith("data:")) return fetchOther(path, init);
      const bytes = Buffer.from(path.slice(path.indexOf(",") + 1), "base64");
      return { ok: true, status: 200, arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
    };
  }
  // Emscripten's Node branch reads __dirname while it sets up, which an ES module bundle does not define.
  const g = globalThis as { __dirname?: string };
  if (typeof g.__dirname !== "string") g.__dirname = ".";
  wasmConfigured = true;
}

/**
 * Makes `engine` the active TensorFlow.js backend (initialising it on first use) and returns a label for reports,
 * "wasm-simd" or "cpu". Where WebAssembly has no SIMD (Node.js 14, an OpenWhisk `nodejs:14` kind) `wasm` runs on
 * the plain-JavaScript engine instead: the same model and predictions, slower, and the label says so.
 */
export async function useEngine(requested: Engine): Promise<string> {
  if (!prodMode) {
    tf.enableProdMode(); // skips per-op NaN checks and the "install tfjs-node" banner
    prodMode = true;
  }
  let engine = requested;
  if (engine === "wasm") {
    if (await wasmSimdSupported()) configureWasm();
    else engine = "cpu";
  } else if (engine !== "cpu") {
    throw new SuperfaasError("BAD_INPUT", `unknown engine ${JSON.stringify(engine)}`, `use one of: ${ENGINES.join(", ")}`);
  }
  // engine().backendName, unlike getBackend(), does not initialise the highest-priority backend as a side effect.
  if (tf.engine().backendName !== engine && !(await tf.setBackend(engine))) {
    throw new SuperfaasError("INTERNAL", `TensorFlow.js could not start its ${engine} backend`, "see the warning TensorFlow.js printed above");
  }
  await tf.ready();
  return engine === "wasm" ? "wasm-simd" : "cpu";
}

/** Whether this runtime's WebAssembly validates SIMD instructions (asked once; TensorFlow.js asks the same way). */
async function wasmSimdSupported(): Promise<boolean> {
  return Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
}
