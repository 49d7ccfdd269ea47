import * as tf from "@tensorflow/tfjs-core";
import { afterEach, describe, expect, it } from "vitest";
import { useEngine } from "../src/engine.js";

describe("engine", () => {
  afterEach(() => {
    tf.env().reset();
  });

  it("runs wasm on WebAssembly SIMD where the runtime has it", async () => {
    expect(await useEngine("wasm")).toBe("wasm-simd");
    expect(tf.getBackend()).toBe("wasm");
  });

  it("runs the plain-JS engine where WebAssembly has no SIMD (Node.js 14), and says so", async () => {
    // What TensorFlow.js finds on Node 14: its own probe of SIMD support answers false.
    tf.env().set("WASM_HAS_SIMD_SUPPORT", false);
    expect(await useEngine("wasm")).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
  });
});
