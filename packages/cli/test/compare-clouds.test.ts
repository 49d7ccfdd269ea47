// `superfaas compare pi --backends local,openwhisk,lambda`, end to end through the CLI: the cloud backends talk
// to their loopback emulators over the real wire protocols, their functions run in separate processes, and the
// three counts must agree.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseReportDocument } from "@superfaas/report";
import { capture } from "./helpers.js";
import { main } from "../src/main.js";
import { startLambdaEmulator, startOpenWhiskEmulator, type LambdaEmulator, type OpenWhiskEmulator } from "@superfaas/testing";

/** The namespace's actions, as `wsk action list` asks the controller for them. */
async function owActions(ow: OpenWhiskEmulator): Promise<string[]> {
  const { apihost, auth, namespace } = ow.clientOptions;
  const res = await fetch(`${apihost}/api/v1/namespaces/${encodeURIComponent(namespace)}/actions?limit=200`, {
    headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { name: string }[]).map((a) => a.name);
}

describe("compare pi on local, openwhisk and lambda (loopback emulators)", () => {
  let ow: OpenWhiskEmulator;
  let lambda: LambdaEmulator;
  let dir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    ow = await startOpenWhiskEmulator({});
    lambda = await startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 4 });
    dir = await mkdtemp(join(tmpdir(), "superfaas-compare-"));
    // The Lambda backend takes its credentials from the SDK's default chain, as it would on a real machine.
    process.env.AWS_ACCESS_KEY_ID = lambda.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = lambda.credentials.secretAccessKey;
    delete process.env.AWS_PROFILE;
  });

  afterAll(async () => {
    process.env = saved;
    await Promise.allSettled([ow?.close(), lambda?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs the same job on all three, finds the same hit count, and writes one report", async () => {
    const out = capture();
    const err = capture();
    const { apihost, auth, namespace } = ow.clientOptions;
    const code = await main(
      [
        "compare", "pi", "--backends", "local,openwhisk,lambda",
        "--points", "2e7", "--seed", "11", "--tasks", "6", "--concurrency", "3",
        "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null",
        "--region", lambda.region, "--endpoint", lambda.endpoint, "--role", "arn:aws:iam::123456789012:role/superfaas-test",
        "--memory", "256",
        "--report", dir,
      ],
      { stdout: out.stream, stderr: err.stream },
    );
    expect(err.text).not.toMatch(/error\[/);
    expect(code).toBe(0);
    for (const name of ["local", "openwhisk", "lambda"]) expect(out.text).toContain(name);
    expect(out.text).not.toMatch(/skipped/);
    expect(existsSync(join(dir, "report.html"))).toBe(true);
    const doc = parseReportDocument(JSON.parse(await readFile(join(dir, "report.json"), "utf8")));
    if (doc.kind !== "compare") throw new Error(`expected a compare report, got ${doc.kind}`);
    expect(doc.runs.map((r) => [r.backend, r.status])).toEqual([["local", "succeeded"], ["openwhisk", "succeeded"], ["lambda", "succeeded"]]);
    // The same hit count from each backend: one count, over all 2e7 points of seed 11, and a plausible one.
    const outputs = doc.runs.map((r) => r.output as { hits: number; points: number; seed: number; estimate: number; stdError: number });
    expect(outputs.map((o) => [o.points, o.seed])).toEqual(Array(3).fill([2e7, 11]));
    const hits = outputs.map((o) => o.hits);
    expect(hits.every((h) => Number.isInteger(h) && h > 0 && h < 2e7), `hits ${hits}`).toBe(true);
    expect(new Set(hits).size, `hits ${hits}`).toBe(1);
    expect(Math.abs(outputs[0]!.estimate - Math.PI)).toBeLessThan(6 * outputs[0]!.stdError);
    expect(doc.comparison.agree).toBe(true);
    // Both clouds ran the job's tasks remotely, and every backend's functions were deleted after the run (no --keep).
    expect(ow.stats.accepted).toBeGreaterThanOrEqual(6);
    expect(lambda.stats.invocations).toBeGreaterThanOrEqual(6);
    expect(await owActions(ow)).toEqual([]);
    expect(lambda.functionNames()).toEqual([]);
  });

  it("classifies Fashion-MNIST images with identical predictions on all three", async () => {
    const out = capture();
    const err = capture();
    const { apihost, auth, namespace } = ow.clientOptions;
    const data = fileURLToPath(new URL("../../../examples/image-classification/test/fixtures", import.meta.url));
    const code = await main(
      [
        "compare", "image-classification", "--backends", "local,openwhisk,lambda", "--json",
        "--images", "300", "--data", data, "--tasks", "5", "--concurrency", "3",
        "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null",
        "--region", lambda.region, "--endpoint", lambda.endpoint, "--role", "arn:aws:iam::123456789012:role/superfaas-test",
        "--memory", "512",
      ],
      { stdout: out.stream, stderr: err.stream },
    );
    expect(err.text).not.toMatch(/error\[/);
    expect(code).toBe(0);
    const doc = parseReportDocument(JSON.parse(out.text));
    const outputs = JSON.stringify(doc).match(/"predictionsSha256":"[0-9a-f]+"/g) ?? [];
    expect(outputs).toHaveLength(3);
    expect(new Set(outputs).size).toBe(1);
  });
});
