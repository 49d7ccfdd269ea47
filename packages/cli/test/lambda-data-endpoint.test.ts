// Where Lambda functions read a job's data from (#21 item 3): the S3 endpoint a run uses reaches its functions whenever
// they read data (ctx.read), with or without a work bucket (--bucket), and a data endpoint that the functions cannot
// reach is the run's configuration error (BAD_INPUT, exit 2, not retried as the job's bug), through the real CLI.
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putObject, type S3Access } from "@superfaas/core";
import { startLambdaEmulator, startS3Server, TEST_ROLE, type LambdaEmulator, type S3TestServer } from "@superfaas/testing";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

/** A loopback port that was free a moment ago and has nothing listening on it now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe.skipIf(!built)(`lambda: the functions read data from the run's S3 endpoint${notBuilt}`, () => {
  let s3: S3TestServer;
  let lambda: LambdaEmulator;
  let env: NodeJS.ProcessEnv;
  const text = ["the quick brown fox\njumps over the lazy dog\n", "the dog sleeps\nthe fox runs\n"];

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ["data"] });
    const access: S3Access = { endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials };
    for (const [i, t] of text.entries()) await putObject(`s3://data/text/part-${i}.txt`, t, access);
    // The functions sign with their execution role's keys: here, keys the S3 server accepts.
    lambda = await startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 4, credentials: s3.credentials });
    // The orchestrator lists the data with these (the usual variables); the functions get only what the run gives them.
    env = { ...process.env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: s3.region, AWS_ENDPOINT_URL_S3: s3.endpoint };
    delete env.AWS_ENDPOINT_URL;
    delete env.AWS_PROFILE;
  });
  afterAll(async () => {
    await lambda?.close();
    await s3?.close();
  });

  const lambdaFlags = () => ["--backend", "lambda", "--region", lambda.region, "--endpoint", lambda.endpoint, "--role", TEST_ROLE];

  it("with --s3-endpoint and no --bucket, every function reads its range from that endpoint", async () => {
    const before = s3.rangedReads.length;
    const r = await superfaas(["run", "wordcount", "--data", "s3://data/text/", "--tasks", "2", "--json", "--s3-endpoint", s3.endpoint, ...lambdaFlags()], { env });
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    const output = JSON.parse(r.stdout).output as { lines: number; words: number; objects: number };
    expect(output).toMatchObject({ lines: 4, words: 15, objects: 2 });
    // The reads came from inside the functions, to the endpoint the run was given.
    const reads = s3.rangedReads.slice(before).filter((x) => x.path.startsWith("data/text/"));
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(reads.every((x) => x.status === 206 || x.status === 200)).toBe(true);
  }, 120_000);

  it("a data endpoint the functions cannot reach is one BAD_INPUT line naming it, exit 2, each task tried once", async () => {
    const invocations = lambda.stats.invocations;
    // The orchestrator lists through --s3-endpoint; the functions are told to read from a port nobody listens on.
    const closed = await closedPort();
    const r = await superfaas(
      ["run", "wordcount", "--data", "s3://data/text/", "--tasks", "2", "--concurrency", "1", "--s3-endpoint", s3.endpoint, "--function-s3-endpoint", `http://127.0.0.1:${closed}`, ...lambdaFlags()],
      { env },
    );
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(String.raw`^error\[BAD_INPUT\]: task \d could not read its data: reading s3:\/\/data\/text\/part-\d\.txt: cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:${closed} from where the task runs \(ECONNREFUSED, 5 tries\) — give the backend the S3 endpoint as its tasks reach it`));
    expect(lines[0]).not.toMatch(/fix the job's map/);
    // Not retried as a transient failure: one invocation (the first task's) ended the run.
    expect(lambda.stats.invocations - invocations).toBe(1);
  }, 120_000);
});
