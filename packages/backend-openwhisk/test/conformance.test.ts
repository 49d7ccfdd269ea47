// The backend conformance suite, against OpenWhiskBackend pointed at the loopback emulator, with payloads over the
// platform's 1 MB limits going through a loopback S3 server (s3rver). The emulator keeps a stock deployment's
// concurrency throttle (30) and raises the per-minute one to 600, as a deployment does with
// WHISK_ACTIONS_INVOKES_PER_MINUTE: the suite invokes over 60 actions in a minute (throttling has tests of its own).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunError, run } from "@superfaas/core";
import { conformanceJob, describeConformance, fixturePayload } from "@superfaas/core/conformance";
import { awsSdkLoads, startTestbed, type OpenWhiskTestbed } from "./helpers.js";
import type { OpenWhiskBackend } from "../src/index.js";

const MB = 1024 * 1024;

// The orchestrating side needs the AWS SDK in this process. Under a vitest config whose resolve conditions put
// "module" before "node", vite picks the SDK's bundler-only build (dist-es, extensionless imports) and it cannot
// load: say so in one failing test instead of failing every test of the suite with the same import error.
const sdkProblem = await awsSdkLoads();
it("loads the AWS SDK (needed for payloads over 1 MB)", () => {
  expect(sdkProblem, "the root vitest.config.ts must resolve the \"node\" condition before \"module\"/\"import\" for the AWS SDK to load").toBeUndefined();
});

let tb: OpenWhiskTestbed;

/** The namespace's actions, as `wsk action list` asks the controller for them. */
async function actionNames(): Promise<string[]> {
  const { apihost, auth, namespace } = tb.emulator.clientOptions;
  const res = await fetch(`${apihost}/api/v1/namespaces/${encodeURIComponent(namespace)}/actions?limit=200`, {
    headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { name: string }[]).map((a) => a.name);
}
const backends: OpenWhiskBackend[] = [];

beforeAll(async () => {
  tb = await startTestbed({ s3: true, emulator: { blockingWindowMs: 60_000, invocationsPerMinute: 600 } });
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.dispose().catch(() => undefined)));
  await tb?.close();
});

describeConformance({
  name: "openwhisk (loopback emulator + s3rver)",
  ...(sdkProblem ? { skipReason: `the AWS SDK does not load under this vitest config: ${sdkProblem.slice(0, 120)}` } : {}),
  largePayloadBytes: 3 * MB,
  objectStore: { keys: (prefix) => tb.keys(prefix), writes: () => tb.s3!.writes, deletes: () => tb.s3!.deletes },
  billed: true,
  async createBackend() {
    const backend = tb.backend({ actionTimeout: 60 });
    backends.push(backend);
    return backend;
  },
});

describe.skipIf(Boolean(sdkProblem))("openwhisk payload limits", () => {
  it("sent the suite's 3 MiB partial through the bucket: every activation's result stayed under 1 MB, none throttled", () => {
    const records = [...tb.emulator.activations.values()];
    // The suite ran (dozens of activations, every one recorded) and one of them answered with a reference to the bucket.
    expect(records.length).toBeGreaterThanOrEqual(20);
    expect(records.length).toBe(tb.emulator.stats.completed);
    const offloaded = records.filter((r) => typeof r.response.result.partialRef === "string");
    expect(offloaded.length).toBeGreaterThanOrEqual(1);
    for (const r of records) expect(r.response.size, `activation ${r.activationId}`).toBeLessThan(MB);
    expect(tb.emulator.stats.throttled).toBe(0);
  });

  it("has no objects, actions or live containers left after the suite's backends were disposed", async () => {
    // The suite wrote objects and deployed its action: the empty lists below are its clean-up, not a run that never was.
    expect(tb.s3!.writes.filter((k) => k.includes("superfaas/")).length).toBeGreaterThanOrEqual(2);
    expect(tb.emulator.stats.containersStarted).toBeGreaterThanOrEqual(1);
    expect(await tb.keys("superfaas/")).toEqual([]);
    expect(await actionNames()).toEqual([]);
    // A container still running an activation of a deleted action runs it to its end (as the stock invoker does), then
    // goes: none is left idle, and each one still up is retiring.
    const live = tb.emulator.containers().filter((c) => c.state !== "dead");
    expect(live.filter((c) => !c.retiring || c.running.size === 0).map((c) => c.id)).toEqual([]);
  });

  it("sends a task over the 1 MB parameter limit through the bucket", async () => {
    const backend = tb.backend();
    backends.push(backend);
    const big = "é".repeat(700_000); // 1.4 MB of UTF-8 in 700,000 characters
    const { output, report } = await run(conformanceJob, { tasks: [{ op: "echo", value: big }, { op: "echo", value: "small" }] }, { backend, concurrency: 2 });
    expect((output as { value: string }[]).map((p) => p.value)).toEqual([big, "small"]);
    expect(report.tasks.map((t) => t.attempts)).toEqual([1, 1]);
    await backend.dispose();
    expect(await tb.keys("superfaas/")).toEqual([]);
  });

  it("without a bucket, fails a task over 1 MB before invoking, and a partial over 1 MB with the platform's message, neither retried", async () => {
    const backend = tb.backend({ bucket: undefined, s3Endpoint: undefined });
    backends.push(backend);
    const before = tb.emulator.stats.invocations;
    const tooBig = await run(conformanceJob, { tasks: [{ op: "echo", value: "x".repeat(MB + 1) }] }, { backend }).catch((e: unknown) => e);
    expect(tooBig).toBeInstanceOf(RunError);
    expect((tooBig as RunError).message).toMatch(/over OpenWhisk's 1 MB parameter limit, and no bucket is configured/);
    expect(tb.emulator.stats.invocations).toBe(before);
    const bigResult = await run(conformanceJob, { tasks: [{ op: "payload", kind: "large", seed: 9, bytes: 2 * MB }] }, { backend }).catch((e: unknown) => e);
    expect(bigResult).toBeInstanceOf(RunError);
    expect((bigResult as RunError).message).toMatch(/exceeded the allowed length: \d+ > 1048576 bytes/);
    // The platform quotes up to 1 MB of the response: the error line quotes a readable part of it, and the way out.
    expect((bigResult as RunError).message.length).toBeLessThan(600);
    expect((bigResult as RunError).message).toMatch(/… \(\d+ more characters\) — pass --bucket so that partials over 1 MB go through the object store/);
    expect((bigResult as RunError).report.tasks[0]!.attempts).toBe(1);
    // The same partial fits through the bucket.
    const withBucket = tb.backend();
    backends.push(withBucket);
    const { output } = await run(conformanceJob, { tasks: [{ op: "payload", kind: "large", seed: 9, bytes: 2 * MB }] }, { backend: withBucket });
    expect((output as unknown[])[0]).toEqual(fixturePayload("large", 9, 2 * MB));
  });
});
