// Issue #21 item 4, through the real `superfaas` process: every invocation the platform bills is in the run's cost.
// Attempts the client gave up on (here: cancelled by SIGINT while the platform runs them on) are measured where the
// platform keeps records (OpenWhisk's activation list) and estimated, marked so, where it keeps none (Lambda).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { fileURLToPath } from "node:url";
import { startLambdaEmulator, startOpenWhiskEmulator, TEST_ROLE, type LambdaEmulator, type OpenWhiskEmulator } from "@superfaas/testing";
import { built, errorLines, notBuilt, signalWhen, superfaas } from "./process.js";
import { straggles } from "../../testing/src/straggle.js";

const sumJob = fileURLToPath(new URL("./fixtures/sum-job.ts", import.meta.url));

describe.skipIf(!built)(`cost of attempts the client gave up on${notBuilt}`, () => {
  let lambda: LambdaEmulator;
  let ow: OpenWhiskEmulator;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [lambda, ow] = await Promise.all([startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 8 }), startOpenWhiskEmulator({})]);
    env = { ...process.env, AWS_ACCESS_KEY_ID: lambda.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: lambda.credentials.secretAccessKey, AWS_REGION: lambda.region };
    delete env.AWS_PROFILE;
  });

  afterAll(async () => {
    await Promise.allSettled([lambda?.close(), ow?.close()]);
  });

  it("openwhisk: a run cancelled by SIGINT with attempts in flight ends at once and estimates them (marked estimated), at least what the platform billed", async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    const before = new Set(ow.activations.keys());
    const sig = signalWhen(() => ow.containers().filter((c) => c.running.size > 0).length >= 2, "SIGINT");
    const r = await superfaas(
      ["run", sumJob, "--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null", "--n", "100", "--slow", "1500", "--tasks", "2", "--json"],
      { env, onStart: sig.onStart },
    );
    expect(sig.sent).toBe(true);
    expect(r.code).toBe(130);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[CANCELLED\]/)]);
    const report = JSON.parse(r.stdout);
    expect(report.status).toBe("cancelled");
    // What the platform ran for this run, to the end after the cancel.
    // The CLI did not wait for them: they were still running when it ended, and are estimated.
    expect(report.totals.estimatedAttempts).toBe(2);
    expect(report.totals.estimatedBilledMs).toBeGreaterThan(0);
    const ran = () => [...ow.activations.values()].filter((a) => !before.has(a.activationId));
    await vi.waitFor(() => expect(ran()).toHaveLength(2), { timeout: 30_000, interval: 50 });
    const platformMs = ran().reduce((s, a) => s + a.duration, 0);
    expect(platformMs).toBeGreaterThanOrEqual(2 * 1500);
    expect(report.totals.billedMs).toBeGreaterThanOrEqual(platformMs);
  });

  it("openwhisk: the original a backup beat is cancelled by the client but run to its end by the platform: its billed time is measured", async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    // A seed under which exactly one of the 8 first activations straggles (16x, 3.2 s: long enough that its backup wins on a loaded machine, and it ends within the 5 s the CLI waits for records) and the backups after them do not.
    const spec = { fraction: 0.1, factor: 16, seed: 0 };
    const picks = (seed: number) => Array.from({ length: 12 }, (_, n) => straggles({ ...spec, seed }, n) as boolean);
    while (picks(spec.seed).filter(Boolean).length !== 1 || !picks(spec.seed).slice(0, 8).some(Boolean)) spec.seed++;
    ow.setStraggle(spec);
    const before = new Set(ow.activations.keys());
    const r = await superfaas(
      ["run", sumJob, "--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null", "--n", "800", "--slow", "200", "--tasks", "8", "--concurrency", "8", "--backup-tasks", "--json"],
      { env },
    ).finally(() => ow.setStraggle(undefined));
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.output).toBe((800 * 799) / 2);
    // The straggler's backup wins; on a loaded machine another task may pass twice the median and get one too.
    const b = report.totals.backups;
    expect(b.won).toBeGreaterThanOrEqual(1);
    expect(b.wasted).toBeGreaterThanOrEqual(b.won);
    // Every activation the platform ran for the run, the originals the client gave up on included.
    const mine = () => [...ow.activations.values()].filter((a) => !before.has(a.activationId));
    await vi.waitFor(() => expect(mine()).toHaveLength(8 + b.launched + report.totals.retries), { timeout: 30_000, interval: 50 });
    const ran = mine();
    const slowest = Math.max(...ran.map((a) => a.duration));
    expect(slowest).toBeGreaterThanOrEqual(16 * 200);
    expect(report.totals.billedMs).toBe(ran.reduce((s, a) => s + a.duration, 0));
    expect(report.totals.estimatedAttempts).toBeUndefined();
  });

  it("lambda: a run cancelled by SIGINT with attempts in flight estimates them (marked estimated), at least what the platform billed", async () => {
    const billedBefore = lambda.stats.billedMs;
    const sig = signalWhen(() => lambda.environments().filter((e) => e.busy).length >= 2, "SIGINT");
    const r = await superfaas(
      ["run", sumJob, "--backend", "lambda", "--region", lambda.region, "--endpoint", lambda.endpoint, "--role", TEST_ROLE, "--n", "100", "--slow", "1500", "--tasks", "2", "--timeout", "30"],
      { env, onStart: sig.onStart },
    );
    expect(sig.sent).toBe(true);
    expect(r.code).toBe(130);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[CANCELLED\]/)]);
    // The summary printed on cancel names the estimate.
    expect(r.stderr).toMatch(/billed [\d.]+ s \(of which [\d.]+ s estimated for 2 attempts given up on\), est\. cost \$[\d.]+ \(of which \$[\d.]+ estimated\)/);
    // The platform runs the cancelled invocations to their end: wait until it has billed them.
    await vi.waitFor(() => expect(lambda.environments().some((e) => e.busy)).toBe(false), { timeout: 30_000, interval: 50 });
    const platformMs = lambda.stats.billedMs - billedBefore;
    expect(platformMs).toBeGreaterThanOrEqual(2 * 1500);
    const billed = Number(/billed ([\d.]+) s/.exec(r.stderr)![1]) * 1000;
    expect(billed).toBeGreaterThanOrEqual(platformMs);
  });
});
