// What `scale` and `resume` promise, through the real `superfaas` process: `scale` on the clouds runs level N N wide
// (on the client and on the platform), a resume redeploys a function deleted since the run was killed, and
// `resume --force` runs a changed module's remaining tasks where a plain resume refuses it.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLambdaEmulator, startOpenWhiskEmulator, TEST_ROLE, type LambdaEmulator, type OpenWhiskEmulator } from "@superfaas/testing";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

const sumJob = fileURLToPath(new URL("./fixtures/sum-job.ts", import.meta.url));
const core = fileURLToPath(new URL("../../core/dist/index.js", import.meta.url));

interface RunRow {
  runId: string;
  status: string;
  done: number;
  total: number;
  resources: { functions?: string[] };
}
interface Report {
  runId: string;
  output: unknown;
  concurrency: number;
  totals: { tasks: number; attempts: number; peakConcurrency: number };
  tasks: { attempts: number }[];
}

/** `superfaas run ...` killed with SIGKILL once its progress passes half way. */
async function runKilled(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let killed = false;
  const r = await superfaas(["run", ...args], {
    env,
    onStderr: (text, child) => {
      if (!killed && /\d+\/\d+ tasks \([5-8]\d%\)/.test(text)) {
        killed = true;
        child.kill("SIGKILL");
      }
    },
  });
  expect(r.signal).toBe("SIGKILL");
}

async function runs(stateDir: string, env: NodeJS.ProcessEnv = process.env): Promise<RunRow[]> {
  const r = await superfaas(["runs", "--json", "--state-dir", stateDir], { env });
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as RunRow[];
}

/** The most activations of `name` that overlapped in time, among `records` (start and end in ms). */
function widest(records: { start: number; end: number }[]): number {
  const edges = records.flatMap((r) => [
    [r.start, 1],
    [r.end, -1],
  ]);
  // An end before a start at the same instant: touching is not overlapping.
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d!));
  return most;
}

describe.skipIf(!built)(`scale and resume on the clouds through the real CLI process${notBuilt}`, () => {
  let ow: OpenWhiskEmulator;
  let lambda: LambdaEmulator;
  let lambdaEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    [ow, lambda] = await Promise.all([startOpenWhiskEmulator({}), startLambdaEmulator({ pendingMs: 20, updateMs: 20, maxEnvironments: 8 })]);
    lambdaEnv = { ...process.env, AWS_ACCESS_KEY_ID: lambda.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: lambda.credentials.secretAccessKey, AWS_REGION: lambda.region };
    delete lambdaEnv.AWS_PROFILE;
  });
  afterAll(async () => {
    await Promise.allSettled([ow?.close(), lambda?.close()]);
  });
  const owFlags = () => ["--backend", "openwhisk", "--apihost", ow.clientOptions.apihost, "--auth", ow.clientOptions.auth, "--namespace", ow.clientOptions.namespace, "--wskprops", "/dev/null"];
  const lambdaFlags = () => ["--backend", "lambda", "--region", lambda.region, "--endpoint", lambda.endpoint, "--role", TEST_ROLE];
  const actions = async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    const res = await fetch(`${apihost}/api/v1/namespaces/${namespace}/actions`, { headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } });
    return ((await res.json()) as { name: string }[]).map((a) => a.name);
  };
  // Tasks of 2 s: long beside a cold start, so the tasks of one round overlap on the platform.
  const SCALE = ["scale", sumJob, "--n", "6000", "--slow", "2000", "--tasks", "6", "--workers", "1,3", "--retries", "0", "--no-backup-tasks", "--json"];

  it("openwhisk: scale --workers 1,3 runs 1 and then 3 activations at once, never more", { timeout: 240_000 }, async () => {
    const before = new Set(ow.activations.keys());
    const r = await superfaas([...SCALE, ...owFlags()]);
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { runs: { level: number; output: number; report: Report }[] };
    expect(doc.runs.map((x) => [x.level, x.report.concurrency, x.report.totals.peakConcurrency, x.output])).toEqual([
      [1, 1, 1, 17997000],
      [3, 3, 3, 17997000],
    ]);
    // The platform's own records: the first level's 6 activations one at a time, the second's 3 at a time.
    const records = [...ow.activations.entries()].filter(([id]) => !before.has(id)).map(([, a]) => a);
    expect(records).toHaveLength(12);
    records.sort((a, b) => a.start - b.start);
    expect(widest(records.slice(0, 6))).toBe(1);
    expect(widest(records.slice(6))).toBe(3);
    expect(await actions()).toEqual([]);
  });

  it("lambda: scale --workers 1,3 keeps 1 and then 3 invocations in flight, and the platform runs 3 at once at most", { timeout: 240_000 }, async () => {
    const peaks = { ...lambda.stats.peakConcurrency };
    const r = await superfaas([...SCALE, ...lambdaFlags()], { env: lambdaEnv });
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { runs: { level: number; output: number; report: Report }[] };
    expect(doc.runs.map((x) => [x.level, x.report.concurrency, x.report.totals.peakConcurrency, x.output])).toEqual([
      [1, 1, 1, 17997000],
      [3, 3, 3, 17997000],
    ]);
    const fresh = Object.entries(lambda.stats.peakConcurrency).filter(([fn, n]) => peaks[fn] !== n);
    expect(fresh.map(([, n]) => n)).toEqual([3]);
    expect(lambda.functionNames()).toEqual([]);
  });

  it("openwhisk: a killed run whose action was deleted since resumes by deploying it again, and deletes it at its end", { timeout: 240_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "superfaas-state-"));
    await runKilled([sumJob, "--n", "12000", "--slow", "400", "--tasks", "12", "--concurrency", "2", ...owFlags(), "--state-dir", stateDir], process.env);
    const row = (await runs(stateDir))[0]!;
    expect(row.status).toBe("interrupted");
    expect(row.done).toBeLessThan(row.total);
    const fn = row.resources.functions![0]!;
    expect(await actions()).toEqual([fn]);
    const { apihost, auth, namespace } = ow.clientOptions;
    const del = await fetch(`${apihost}/api/v1/namespaces/${namespace}/actions/${fn}`, { method: "DELETE", headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } });
    expect(del.status).toBe(200);
    expect(await actions()).toEqual([]);

    const resumed = await superfaas(["resume", row.runId.slice(0, 8), "--json", "--auth", auth, "--state-dir", stateDir]);
    expect(errorLines(resumed.stderr)).toEqual([]);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as Report;
    expect(report.output).toBe((12000 * 11999) / 2);
    expect(report.tasks.filter((t) => t.attempts > 0)).toHaveLength(row.total - row.done);
    expect(await actions()).toEqual([]);
    expect((await runs(stateDir)).find((r) => r.runId === row.runId)).toMatchObject({ status: "succeeded", done: row.total });
  });

  it("local: a module changed since the run was killed is refused by resume and run by resume --force, only the remaining tasks", { timeout: 240_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "superfaas-state-"));
    const dir = mkdtempSync(join(tmpdir(), "superfaas-module-"));
    const module = join(dir, "counting.mjs");
    const source = (body: string) =>
      `import { defineJob } from ${JSON.stringify(core)};\n` +
      `export const counting = defineJob({\n  name: "counting",\n  partition: (_input, plan) => Array.from({ length: plan.tasks }, (_, i) => i),\n` +
      `  async map(i) {\n    await new Promise((r) => setTimeout(r, 300));\n    ${body}\n  },\n  reduce: (parts) => parts.reduce((a, b) => a + b, 0),\n});\n`;
    writeFileSync(module, source("return i;"));
    await runKilled([module, "--tasks", "12", "--workers", "2", "--state-dir", stateDir], process.env);
    const row = (await runs(stateDir))[0]!;
    expect(row.status).toBe("interrupted");
    expect(row.done).toBeGreaterThan(0);
    expect(row.done).toBeLessThan(row.total);
    // Another bundle, the same output.
    writeFileSync(module, source("return i * 1;"));

    const refused = await superfaas(["resume", row.runId.slice(0, 8), "--state-dir", stateDir]);
    expect(errorLines(refused.stderr)).toEqual([expect.stringMatching(new RegExp(`^error\\[RESUME_REFUSED\\]: run ${row.runId}: the job module ${module} changed since the run started .* — .*resume with --force`))]);
    expect(refused.code).toBe(2);
    expect((await runs(stateDir))[0]).toMatchObject({ status: "interrupted", done: row.done });

    const forced = await superfaas(["resume", row.runId.slice(0, 8), "--force", "--json", "--state-dir", stateDir]);
    expect(errorLines(forced.stderr)).toEqual([]);
    expect(forced.code).toBe(0);
    const report = JSON.parse(forced.stdout) as Report;
    expect(report.runId).toBe(row.runId);
    expect(report.output).toBe(66);
    expect(report.tasks.filter((t) => t.attempts === 0)).toHaveLength(row.done);
    expect(report.tasks.filter((t) => t.attempts > 0)).toHaveLength(row.total - row.done);
    expect((await runs(stateDir))[0]).toMatchObject({ status: "succeeded", done: row.total });
  });
});
