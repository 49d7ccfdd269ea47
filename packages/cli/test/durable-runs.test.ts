// Runs that survive their client, through the real `superfaas` process: a run killed with SIGKILL half way is listed
// as interrupted with what it left, resumes to the output of an uninterrupted run without re-running what its journal
// holds, and `clean` removes exactly what it left (functions, prefixes, log groups, journals) but nothing of a live run.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLambdaEmulator, startOpenWhiskEmulator, startS3Server, TEST_ROLE, type LambdaEmulator, type OpenWhiskEmulator, type S3TestServer } from "@superfaas/testing";
import { resolveParams, type Job } from "@superfaas/core";
import { imageClassification } from "@superfaas/example-image-classification";
import { pi } from "@superfaas/example-pi";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

const images = fileURLToPath(new URL("../../../examples/image-classification/test/fixtures", import.meta.url));
// Tasks of about 100-200 ms each, so a kill at 50% lands while tasks are in flight.
const PI = ["pi", "--points", "3e8", "--tasks", "16", "--concurrency", "2"];
const IMAGES = ["image-classification", "--images", "240", "--data", images, "--engine", "cpu", "--tasks", "16", "--concurrency", "2"];

interface RunRow {
  runId: string;
  status: string;
  done: number;
  total: number;
  resources: { functions?: string[]; prefixes?: { prefix: string }[]; logGroups?: string[] };
}

/** `superfaas run ...` killed with SIGKILL once its progress says 50%; returns how many tasks it had reported done. */
async function runKilled(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let doneAtKill = -1;
  const r = await superfaas(["run", ...args], {
    env,
    onStderr: (text, child) => {
      const m = /(\d+)\/\d+ tasks \(5\d%\)/.exec(text);
      if (m && doneAtKill < 0) {
        doneAtKill = Number(m[1]);
        child.kill("SIGKILL");
      }
    },
  });
  expect(r.signal).toBe("SIGKILL");
  return doneAtKill;
}

async function runs(stateDir: string, env: NodeJS.ProcessEnv): Promise<RunRow[]> {
  const r = await superfaas(["runs", "--json", "--state-dir", stateDir], { env });
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as RunRow[];
}

/**
 * Kills `args` half way, checks `runs` says interrupted, tears the journal's last line, resumes, and checks the output
 * against `expected` and that only tasks the journal lacked ran again. Returns the interrupted run's row.
 */
async function killAndResume(args: string[], extra: string[], stateDir: string, env: NodeJS.ProcessEnv, expected: unknown): Promise<RunRow> {
  const doneAtKill = await runKilled([...args, ...extra, "--state-dir", stateDir], env);
  expect(doneAtKill).toBeGreaterThan(0);
  const row = (await runs(stateDir, env))[0]!;
  expect(row.status).toBe("interrupted");
  // Nothing the run counted as done is missing from its journal.
  expect(row.done).toBeGreaterThanOrEqual(doneAtKill);
  expect(row.done).toBeLessThan(row.total);
  // A write torn by a crash at the end of the journal is ignored.
  appendFileSync(join(stateDir, "runs", `${row.runId}.jsonl`), '1234abcd {"t":"done","r":[[15,{"hi');
  const auth = extra.indexOf("--auth");
  const resumed = await superfaas(["resume", row.runId.slice(0, 8), "--json", "--state-dir", stateDir, ...(auth >= 0 ? extra.slice(auth, auth + 2) : [])], { env });
  expect(errorLines(resumed.stderr)).toEqual([]);
  expect(resumed.code).toBe(0);
  const report = JSON.parse(resumed.stdout) as {
    runId: string;
    output: unknown;
    totals: { attempts: number; tasks: number; retries: number; throttled: number; backups?: { launched: number } };
    tasks: { index: number; attempts: number; status: string }[];
  };
  expect(report.runId).toBe(row.runId);
  expect(stable(report.output)).toEqual(expected);
  // Only what the journal lacked ran again: the journal's tasks not at all, each of the others at least once. How many
  // attempts that took is not fixed (a backup of a straggler, a retry under load), but every extra one is reported.
  const remaining = row.total - row.done;
  expect(report.tasks.filter((t) => t.attempts === 0)).toHaveLength(row.done);
  expect(report.tasks.filter((t) => t.attempts > 0)).toHaveLength(remaining);
  expect(report.tasks.every((t) => t.status === "succeeded")).toBe(true);
  const t = report.totals;
  expect(t.attempts).toBeGreaterThanOrEqual(remaining);
  expect(t.attempts).toBeLessThanOrEqual(remaining + t.retries + t.throttled + (t.backups?.launched ?? 0));
  // Those remaining were at most the tasks not yet done at the kill.
  expect(remaining).toBeLessThanOrEqual(row.total - doneAtKill);
  const after = (await runs(stateDir, env)).find((r) => r.runId === row.runId)!;
  expect(after).toMatchObject({ status: "succeeded", done: row.total });
  return row;
}

/** The output of an uninterrupted run of `job`, computed here task by task (pi's output is the same on every backend). */
async function uninterrupted(job: Job, input: Record<string, unknown>, tasks: number): Promise<unknown> {
  const resolved = resolveParams(job.params!, input);
  const partials = [];
  for (const [taskIndex, t] of (await job.partition(resolved, { tasks, concurrency: 2 })).entries()) partials.push(await job.map(t, { taskIndex, attempt: 1, workerId: "test" }));
  return stable(JSON.parse(JSON.stringify(job.reduce(partials, resolved))));
}
const wholePi = () => uninterrupted(pi as unknown as Job, { points: 3e8 }, 16);
let imagesOutput: Promise<unknown> | undefined;
const wholeImages = () => (imagesOutput ??= uninterrupted(imageClassification as unknown as Job, { images: 240, data: images, engine: "cpu" }, 16));

/** Strips what differs between runs of the same job (wall-clock figures) from an output. */
const stable = (o: unknown) => JSON.parse(JSON.stringify(o, (k, v) => (/Sec$|Ms$|seconds|^modelLoads$|^workers$/i.test(k) ? undefined : v)));

describe.skipIf(!built)(`durable runs through the real CLI process${notBuilt}`, () => {
  it("local: pi and image classification killed half way resume to the uninterrupted output; clean removes the journals", { timeout: 180_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "superfaas-state-"));
    const env = process.env;
    const extra = ["--workers", "2"];
    await killAndResume(PI, extra, stateDir, env, await wholePi());
    await killAndResume(IMAGES, extra, stateDir, env, await wholeImages());
    // Clean lists the two finished journals, then removes them.
    const dry = await superfaas(["clean", "--dry-run", "--state-dir", stateDir], { env });
    expect(dry.stdout.split("\n").filter((l) => l.startsWith("would remove run"))).toHaveLength(2);
    expect(dry.stdout).toMatch(/would remove run \S+ \(succeeded pi on local, .*\): journal/);
    expect(readdirSync(join(stateDir, "runs")).filter((f) => f.endsWith(".jsonl"))).toHaveLength(2);
    const clean = await superfaas(["clean", "--state-dir", stateDir], { env });
    expect(clean.code).toBe(0);
    expect(readdirSync(join(stateDir, "runs"))).toEqual([]);
    // Refusals are one clear line.
    const unknown = await superfaas(["resume", "0000", "--state-dir", stateDir], { env });
    expect(errorLines(unknown.stderr)).toEqual([expect.stringMatching(/^error\[UNKNOWN_RUN\]: no run "0000" in .* — see `superfaas runs`/)]);
    expect(unknown.code).toBe(2);
  });

  describe("cloud backends (loopback OpenWhisk and Lambda, s3rver)", () => {
    let ow: OpenWhiskEmulator;
    let lambda: LambdaEmulator;
    let s3: S3TestServer;
    beforeAll(async () => {
      s3 = await startS3Server();
      [ow, lambda] = await Promise.all([startOpenWhiskEmulator({}), startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 4, credentials: s3.credentials })]);
    });
    afterAll(async () => {
      await Promise.allSettled([ow?.close(), lambda?.close(), s3?.close()]);
    });
    const env = () => ({ ...process.env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: lambda.region });
    const prefixes = async (bucket: string) => {
      const listing = await (await fetch(`${s3.endpoint}/${bucket}?list-type=2&prefix=superfaas/`)).text();
      return [...new Set([...listing.matchAll(/<Key>(superfaas\/[^/]+\/)/g)].map((m) => m[1]))];
    };
    const actions = async () => {
      const { apihost, auth, namespace } = ow.clientOptions;
      const list = (await (await fetch(`${apihost}/api/v1/namespaces/${namespace}/actions`, { headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } })).json()) as { name: string }[];
      return list.map((a) => a.name);
    };

    it("openwhisk: pi resumes owning what its killed session made; clean removes a killed run's action and prefix, not what a live run uses", { timeout: 240_000 }, async () => {
      const stateDir = mkdtempSync(join(tmpdir(), "superfaas-state-"));
      const { apihost, auth, namespace } = ow.clientOptions;
      const bucket = "durable-ow";
      // The auth key is a secret: not journaled, so resume and clean get it again (here by flag).
      const extra = ["--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null", "--bucket", bucket, "--s3-endpoint", s3.endpoint, "--s3-region", "us-east-1"];
      const row = await killAndResume(PI, extra, stateDir, env(), await wholePi());
      expect(row.resources.functions).toHaveLength(1);
      expect(row.resources.prefixes).toEqual([{ prefix: `superfaas/${row.runId}/` }]);
      // The resumed run owned what its killed session made, and deleted it at its end.
      expect(await actions()).toEqual([]);
      expect(await prefixes(bucket)).toEqual([]);
      expect(readFileSync(join(stateDir, "runs", `${row.runId}.jsonl`), "utf8")).not.toContain(auth.split(":")[1]);

      // A killed run's leftovers, and a live run of the same job (so the same action) while clean runs.
      await runKilled([...PI, ...extra, "--state-dir", stateDir], env());
      const killed = (await runs(stateDir, env()))[0]!;
      const fn = killed.resources.functions![0]!;
      expect(await actions()).toEqual([fn]);
      expect(await prefixes(bucket)).toEqual([`superfaas/${killed.runId}/`]);
      const dry = await superfaas(["clean", "--dry-run", "--older-than", "0s", "--state-dir", stateDir], { env: env() });
      const listed = dry.stdout.split("\n").filter((l) => l.includes("interrupted"));
      expect(listed).toEqual([expect.stringMatching(new RegExp(`^would remove run ${killed.runId} \\(interrupted pi on openwhisk, .*\\): function ${fn}, prefix superfaas/${killed.runId}/, journal$`))]);
      expect(await actions()).toEqual([fn]);

      // Long enough (several seconds) for the clean process to start while it runs.
      let cleaned: Promise<Awaited<ReturnType<typeof superfaas>>> | undefined;
      const live = await superfaas(["run", "pi", "--points", "2.4e9", "--tasks", "8", "--concurrency", "1", ...extra, "--state-dir", stateDir], {
        env: env(),
        onStderr: (text) => {
          if (!cleaned && /tasks \(\d+%\)/.test(text)) cleaned = superfaas(["clean", "--backend", "openwhisk", "--auth", auth, "--state-dir", stateDir], { env: env() });
        },
      });
      expect(errorLines(live.stderr)).toEqual([]);
      expect(live.code).toBe(0);
      const c = await cleaned!;
      expect(errorLines(c.stderr)).toEqual([]);
      // The live run used the killed run's action: clean kept it (and the journal that knows of it) while the run was alive.
      expect(c.stdout).toContain(`keeping function ${fn} (in use by a live run)`);
      expect(c.stdout).toContain(`removing run ${killed.runId}`);
      expect(await actions()).toEqual([fn]);
      expect(await prefixes(bucket)).toEqual([]);
      const again = await superfaas(["clean", "--backend", "openwhisk", "--auth", auth, "--state-dir", stateDir], { env: env() });
      expect(errorLines(again.stderr)).toEqual([]);
      expect(await actions()).toEqual([]);
      expect(readdirSync(join(stateDir, "runs"))).toEqual([]);
    });

    it("lambda: pi and image classification resume; a killed pi's function, prefix and log group are listed by clean --dry-run, and found by their owner markers once its journal is gone", { timeout: 240_000 }, async () => {
      const stateDir = mkdtempSync(join(tmpdir(), "superfaas-state-"));
      const bucket = "durable-lambda";
      const extra = ["--backend", "lambda", "--endpoint", lambda.endpoint, "--region", lambda.region, "--role", TEST_ROLE, "--bucket", bucket, "--s3-endpoint", s3.endpoint];
      await killAndResume(PI, extra, stateDir, env(), await wholePi());
      await killAndResume(IMAGES, [...extra, "--memory", "512"], stateDir, env(), await wholeImages());
      expect(lambda.functionNames()).toEqual([]);
      await runKilled([...PI, ...extra, "--state-dir", stateDir], env());
      const killed = (await runs(stateDir, env()))[0]!;
      const fn = killed.resources.functions![0]!;
      expect(killed.resources.logGroups).toEqual([`/aws/lambda/${fn}`]);
      expect(lambda.functionNames()).toEqual([fn]);
      const dry = await superfaas(["clean", "--dry-run", "--backend", "lambda", "--state-dir", stateDir], { env: env() });
      const line = dry.stdout.split("\n").find((l) => l.includes(killed.runId))!;
      expect(line).toContain(`function ${fn}, prefix superfaas/${killed.runId}/, log group /aws/lambda/${fn}, journal`);
      expect(lambda.functionNames()).toEqual([fn]);
      // The journal lost (another machine's run, a wiped state directory): --orphans finds the rest by their owner markers.
      rmSync(join(stateDir, "runs", `${killed.runId}.jsonl`));
      const flags = ["--backend", "lambda", "--endpoint", lambda.endpoint, "--region", lambda.region, "--bucket", bucket, "--s3-endpoint", s3.endpoint];
      const orphans = await superfaas(["clean", "--orphans", "--dry-run", ...flags, "--state-dir", stateDir], { env: env() });
      expect(errorLines(orphans.stderr)).toEqual([]);
      expect(orphans.stdout.split("\n").filter((l) => l.includes("orphan"))).toEqual([
        expect.stringMatching(new RegExp(`^would remove orphan of run ${killed.runId} \\(no journal here, made .*\\): function ${fn}, prefix superfaas/${killed.runId}/, log group /aws/lambda/${fn}$`)),
      ]);
      expect(lambda.functionNames()).toEqual([fn]);
      const clean = await superfaas(["clean", "--orphans", ...flags, "--state-dir", stateDir], { env: env() });
      expect(errorLines(clean.stderr)).toEqual([]);
      expect(lambda.functionNames()).toEqual([]);
      expect(lambda.logGroups().map((g) => g.logGroupName)).not.toContain(`/aws/lambda/${fn}`);
      expect(await prefixes(bucket)).toEqual([]);
      expect(readdirSync(join(stateDir, "runs"))).toEqual([]);
    });
  });
});
