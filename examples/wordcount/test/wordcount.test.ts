import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putObject, readRange, run, type Backend } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { startS3Server, type S3TestServer } from "@superfaas/testing";
import { countWords, lineRanges, mergeCounts, wordcount, type WordcountOutput } from "../src/index.js";

const enc = new TextEncoder();
// Lines of a few words from a small vocabulary (so counts collide), empty lines, unicode, CRLF, no final newline.
const line = fc.array(fc.constantFrom("the", "cat", "Sat", "on", "mat", "café", "naïve", "don't", "42", "", "—", "\r"), { maxLength: 8 }).map((ws) => ws.join(" "));
const text = fc.tuple(fc.array(line, { maxLength: 25 }), fc.boolean()).map(([ls, trailing]) => (ls.length ? ls.join("\n") + (trailing ? "\n" : "") : ""));

/** What one pass over the whole text counts: the reference every chunking must reproduce. */
const reference = (texts: string[], top = 1_000) => mergeCounts(texts.filter((t) => t.length).map((t, i) => countWords(enc.encode(t), String(i))), top);

describe("wordcount over delimiter-aligned chunks", () => {
  let dir: string;
  let server: S3TestServer;
  let backend: Backend;
  const saved = { ...process.env };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "superfaas-wc-"));
    server = await startS3Server({ buckets: ["text"] });
    Object.assign(process.env, { AWS_ENDPOINT_URL_S3: server.endpoint, AWS_ACCESS_KEY_ID: server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey, AWS_REGION: server.region });
    backend = localBackend({ workers: 2 });
  });
  afterAll(async () => {
    process.env = saved;
    await backend?.dispose();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("counts every line and word exactly once across many local files at any chunk size", async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 120 }), async (texts, chunk) => {
        const folder = join(dir, `p${round++}`);
        for (const [i, t] of texts.entries()) await putObject(`file://${folder}/part-${String(i).padStart(2, "0")}.txt`, enc.encode(t));
        const tasks = await lineRanges(folder, chunk, 1);
        const partials = [];
        for (const t of tasks) partials.push(countWords(await readRange(t.range), t.range.url));
        const got = mergeCounts(partials, 1_000);
        const want = reference(texts);
        expect({ ...got, top: Object.fromEntries(got.top) }).toEqual({ ...want, top: Object.fromEntries(want.top) });
      }),
      { numRuns: 60 },
    );
  });

  it("gives the same totals through run() from S3 at chunk sizes from 1 byte to the whole object", async () => {
    const texts = ["the cat sat\non the mat\n", "", "café naïve\n\ndon't stop\nthe end", "x\n".repeat(30)];
    for (const [i, t] of texts.entries()) await putObject(`s3://text/corpus/part-${i}.txt`, enc.encode(t));
    const want = reference(texts, 5);
    for (const chunk of [1, 7, 64, 1_000_000]) {
      const { output, report } = await run(wordcount, { data: "s3://text/corpus/", chunk, top: 5 }, { backend });
      expect(output as WordcountOutput, `chunk ${chunk}`).toEqual(want);
      if (chunk === 1) expect(report.totals.tasks).toBe(texts.reduce((s, t) => s + enc.encode(t).length, 0));
    }
    // Without --chunk, the total is split into about --tasks ranges (one object cannot share a range with another).
    const { report } = await run(wordcount, { data: "s3://text/corpus/", chunk: 0, top: 5 }, { backend, tasks: 6 });
    expect(report.totals.tasks).toBeGreaterThanOrEqual(6);
    expect(report.totals.tasks).toBeLessThanOrEqual(9);
  });

  it("names what is missing", async () => {
    await expect(run(wordcount, { data: "", chunk: 0, top: 5 }, { backend, tasks: 1 })).rejects.toThrow(/wordcount needs --data/);
    await expect(run(wordcount, { data: "s3://text/none/", chunk: 0, top: 5 }, { backend, tasks: 1 })).rejects.toThrow(/no objects at s3:\/\/text\/none\//);
    await writeFile(join(dir, "one.txt"), "a b\n");
    const { output } = await run(wordcount, { data: join(dir, "one.txt"), chunk: 0, top: 5 }, { backend, tasks: 3 });
    expect(output).toMatchObject({ objects: 1, lines: 1, words: 2 });
  });
});
