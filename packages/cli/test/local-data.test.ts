// Local data as a job's partition lists it (listObjects), through the real `superfaas` process: a location that is
// empty or malformed, a folder with a link back into itself, and a FIFO among the files are the user's input to fix
// (one line, exit 2) or are walked safely, never a crash of the job's partition().
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { fixture } from "./helpers.js";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

const job = fixture("list-data.mjs");
const WHERE = "data lives at s3://BUCKET/PREFIX or in local files (a path or file:///PATH)";

describe.skipIf(!built)(`a job's local data location${notBuilt}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "superfaas-local-data-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("an empty location is refused (exit 2), not taken for the working directory", async () => {
    // Before, '' listed the working directory: here a folder with a file in it, so the run would have "succeeded".
    const cwd = join(dir, "cwd");
    mkdirSync(cwd);
    writeFileSync(join(cwd, "notes.txt"), "not data\n");
    for (const args of [[], ["--data", ""], ["--data", "  "]]) {
      const r = await superfaas(["run", job, ...args], { cwd });
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`^error\\[BAD_INPUT\\]: no data location given \\("\\s*"\\) — ${WHERE.replace(/[()]/g, "\\$&")}$`))]);
      expect(r.stdout).not.toContain("notes.txt");
      expect(r.code).toBe(2);
    }
  });

  it("a malformed file URL is bad input naming the accepted forms, not the job's TypeError", async () => {
    const r = await superfaas(["run", job, "--data", "file://relative/x"]);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[BAD_INPUT\]: malformed file URL "file:\/\/relative\/x": .*host.* — data lives at s3:\/\/BUCKET\/PREFIX or in local files \(a path or file:\/\/\/PATH\)$/)]);
    expect(r.code).toBe(2);
  });

  it("a folder with links back into itself is listed once per file, in name order", async () => {
    const data = join(dir, "cyclic");
    mkdirSync(join(data, "sub"), { recursive: true });
    writeFileSync(join(data, "a.txt"), "one\ntwo\n");
    writeFileSync(join(data, "sub", "b.txt"), "three\n");
    symlinkSync(".", join(data, "self"));
    symlinkSync("..", join(data, "sub", "up"));
    // A link to a file is data like the file.
    symlinkSync("a.txt", join(data, "z-link.txt"));
    const r = await superfaas(["run", job, "--data", data]);
    expect(r.stderr).not.toMatch(/error\[/);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("file:"))).toEqual([
      `${pathToFileURL(join(data, "a.txt")).href} 8`,
      `${pathToFileURL(join(data, "sub", "b.txt")).href} 6`,
      `${pathToFileURL(join(data, "z-link.txt")).href} 8`,
    ]);
  });

  it("a link to itself is one short line, not a path grown until it is too long", async () => {
    const data = join(dir, "loop");
    mkdirSync(data);
    symlinkSync("x", join(data, "x"));
    const r = await superfaas(["run", job, "--data", data]);
    expect(errorLines(r.stderr)).toEqual([`error[BAD_INPUT]: ${join(data, "x")} is a link that never reaches a file (a loop of links) — fix or remove the link`]);
    expect(r.code).toBe(2);
  });

  it("a FIFO among the files is refused (exit 2) as not a regular file, never scanned as a folder or read", async () => {
    const data = join(dir, "fifo");
    mkdirSync(data);
    writeFileSync(join(data, "a.txt"), "one\n");
    execFileSync("mkfifo", [join(data, "pipe")]);
    const r = await superfaas(["run", job, "--data", data]);
    expect(errorLines(r.stderr)).toEqual([
      `error[BAD_INPUT]: ${join(data, "pipe")} is a FIFO, not a regular file — only regular files are data: move it out of the data folder, or name the files to read`,
    ]);
    expect(r.code).toBe(2);
    const direct = await superfaas(["run", job, "--data", join(data, "pipe")]);
    expect(errorLines(direct.stderr)).toEqual([expect.stringMatching(/^error\[BAD_INPUT\]: .*pipe is a FIFO, not a regular file — /)]);
    expect(direct.code).toBe(2);
  });
});
