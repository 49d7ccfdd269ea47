// `--kernel` of the pi example, through the real `superfaas` process: the flag must travel from the command line
// into every task (map runs in worker threads, which see neither the flags nor the caller's choices).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const built = existsSync(bin);

function superfaas(args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(!built)(`superfaas run pi --kernel${built ? "" : " (skipped: packages/cli/dist is not built; `npm test` builds it)"}`, () => {
  it("counts the same hits with --kernel js and --kernel wasm, and each task runs the kernel asked for", async () => {
    const args = ["run", "pi", "--points", "3e6", "--seed", "5", "--tasks", "4", "--json"];
    const js = await superfaas([...args, "--kernel", "js"]);
    const wasm = await superfaas([...args, "--kernel", "wasm"]);
    expect(js.code, js.stderr).toBe(0);
    expect(wasm.code, wasm.stderr).toBe(0);
    const a = JSON.parse(js.stdout) as { input: { kernel: string }; output: { hits: number; kernels: string[] } };
    const b = JSON.parse(wasm.stdout) as typeof a;
    expect(a.output.hits).toBe(b.output.hits);
    expect(a.output.kernels).toEqual(["js"]);
    expect(b.output.kernels).toEqual(["wasm-simd"]);
    expect([a.input.kernel, b.input.kernel]).toEqual(["js", "wasm"]);
  });

  it("defaults to the WebAssembly kernel", async () => {
    const r = await superfaas(["run", "pi", "--points", "1e6", "--tasks", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kernel wasm-simd/);
  });

  it("rejects --kernel foo with one line naming the choices, and exit 2", async () => {
    const r = await superfaas(["run", "pi", "--points", "1e6", "--kernel", "foo"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual(['error[BAD_INPUT]: invalid value "foo" for kernel: not one of wasm, js — --kernel takes one of: wasm, js']);
  });

  it("documents --kernel and its choices in the job's help", async () => {
    const r = await superfaas(["run", "pi", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--kernel <wasm\|js>\s+hit counter: wasm \(WebAssembly SIMD/);
  });
});
