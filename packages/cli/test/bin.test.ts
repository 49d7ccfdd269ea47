import { describe, expect, it } from "vitest";
import { built, notBuilt, superfaas as spawnCli, type OnStderr } from "./process.js";

const superfaas = (args: string[], onStderr?: OnStderr) => spawnCli(args, onStderr ? { onStderr } : {});

describe.skipIf(!built)(`superfaas binary${notBuilt}`, () => {
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
