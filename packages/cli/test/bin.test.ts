import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const built = existsSync(bin);

function superfaas(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(!built)(`superfaas binary${built ? "" : " (skipped: packages/cli/dist is not built; `npm test` builds it)"}`, () => {
  it("estimates pi on the local backend and prints plain progress lines when not on a terminal", async () => {
    const r = await superfaas(["run", "pi", "--points", "2e7", "--tasks", "10"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pi ≈ 3\.\d+/);
    expect(r.stderr).toMatch(/pi: 10\/10 tasks \(100%\)/);
  });

  it("cancels on Ctrl-C (SIGINT): stops, prints partial stats, exits 130", async () => {
    let sent = false;
    const r = await superfaas(["run", "pi", "--points", "1e11", "--tasks", "400", "--concurrency", "2"], (text, child) => {
      if (!sent && /tasks \(/.test(text)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/error\[CANCELLED\]: run cancelled after \d+ of 400 tasks/);
    expect(r.stderr).toMatch(/of 400 tasks had finished/);
  }, 60_000);

  it("exits 2 with one line for bad input", async () => {
    const r = await superfaas(["run", "pi", "--points", "-3"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^error\[BAD_INPUT\]: invalid value "-3" for points/);
  });
});
