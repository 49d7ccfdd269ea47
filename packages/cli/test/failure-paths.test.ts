// The failure paths a user meets, through the real `superfaas` process: jobs with bugs, signals, and the files the
// CLI writes. Each must end with one clear error line and the right exit code, every time (flakiness is the symptom).
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Socket } from "node:net";
import { startLambdaEmulator, startOpenWhiskEmulator, startS3Server, TEST_ROLE, type LambdaEmulator, type OpenWhiskEmulator, type S3TestServer } from "@superfaas/testing";
import { fixture } from "./helpers.js";
import { built, canRunAs, errorLines, NOBODY, notBuilt, signalWhen, superfaas } from "./process.js";

const failing = fixture("failing-jobs.mjs");
const REPEAT = 4;

describe.skipIf(!built)(`a job with a bug fails the run with one line, every time${notBuilt}`, () => {
  const cases: [job: string, line: RegExp][] = [
    ["throws-in-several", /^error\[TASK_FAILED\]: task \d+ failed in map: Error: bad input in task \d+ — /],
    ["returns-undefined", /^error\[TASK_FAILED\]: task \d+ failed in map: NotJsonError: the partial of task \d+ is not JSON-serializable: \(root\) is undefined/],
    ["returns-bigint", /^error\[TASK_FAILED\]: task \d+ failed in map: NotJsonError: .*is a BigInt/],
    ["returns-circular", /^error\[TASK_FAILED\]: task \d+ failed in map: NotJsonError: .*circular reference/],
    ["throws-outside-map", /^error\[TASK_FAILED\]: task \d+ failed in map: Error: thrown from a timer in task \d+ — /],
  ];
  for (const [job, line] of cases) {
    it(`${job}: exit 1 and one error line naming the task and the job's message, in ${REPEAT} runs of ${REPEAT}`, async () => {
      // Side by side: a loaded machine makes the races between failing and finishing attempts likelier, not rarer.
      const runs = await Promise.all(Array.from({ length: REPEAT }, () => superfaas(["run", failing, "--job", job, "--workers", "2"])));
      for (const r of runs) {
        expect(r.stderr).not.toMatch(/Unexpected message|node:internal|^\s+at /m);
        expect(errorLines(r.stderr)).toHaveLength(1);
        expect(errorLines(r.stderr)[0]).toMatch(line);
        expect(r.code).toBe(1);
      }
    });
  }

  it("a job module that throws while it loads in a worker: the module's error, exit 1", async () => {
    const runs = await Promise.all(Array.from({ length: REPEAT }, () => superfaas(["run", fixture("load-fails.mjs"), "--workers", "2"])));
    for (const r of runs) {
      expect(errorLines(r.stderr)).toEqual([
        expect.stringMatching(/^error\[TASK_FAILED\]: task \d could not load the job module: Error: native addon not available in this worker — /),
      ]);
      expect(r.code).toBe(1);
    }
  });

  it("partition() that throws is the job's error (JOB_FAILED), not a bug in superfaas", async () => {
    const r = await superfaas(["run", failing, "--job", "partition-throws"]);
    expect(errorLines(r.stderr)).toEqual([
      "error[JOB_FAILED]: job partition-throws: partition() threw RangeError: no tasks for an empty input — fix the job's partition function (the stack is shown with --verbose)",
    ]);
    expect(r.code).toBe(1);
    const verbose = await superfaas(["run", failing, "--job", "partition-throws", "--verbose"]);
    expect(verbose.stderr).toMatch(/caused by: RangeError: no tasks for an empty input\n\s+at (Object\.)?partition .*failing-jobs\.mjs/);
  });

  it("a partition() that makes more tasks than the process can track is refused before anything runs", async () => {
    // A 64 MB old space (a 112 MB heap) holds the records of about 57,000 tasks; the job makes 200,000 whatever --tasks says.
    const env = { ...process.env, NODE_OPTIONS: "--max-old-space-size=64" };
    const r = await superfaas(["run", failing, "--job", "too-many-tasks", "--tasks", "8"], { env });
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[JOB_FAILED\]: job too-many-tasks: partition\(\) made 200,000 tasks, more than this process can keep track of \([\d,]+\) — /)]);
    expect(r.code).toBe(1);
  });

  it("reduce() that throws is the job's error, after the run's stats", async () => {
    const r = await superfaas(["run", failing, "--job", "reduce-throws"]);
    expect(errorLines(r.stderr)).toEqual([
      "error[JOB_FAILED]: job reduce-throws: reduce() threw TypeError: cannot add the partials — fix the job's reduce function (the stack is shown with --verbose)",
    ]);
    expect(r.stderr).toMatch(/16 of 16 tasks had finished/);
    expect(r.code).toBe(1);
  });
});

describe.skipIf(!built)(`signals${notBuilt}`, () => {
  const longPi = ["run", "pi", "--points", "1e11", "--tasks", "400", "--concurrency", "2"];

  it("SIGTERM cancels like Ctrl-C: partial stats, one CANCELLED line, exit 143", async () => {
    let sent = false;
    const r = await superfaas(longPi, {
      onStderr: (text, child) => {
        if (!sent && /tasks \(/.test(text)) {
          sent = true;
          child.kill("SIGTERM");
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.stderr).toMatch(/cancelling \(SIGTERM\)/);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[CANCELLED\]: run cancelled after \d+ of 400 tasks/)]);
    expect(r.stderr).toMatch(/of 400 tasks had finished/);
    expect(r.code).toBe(143);
  });

  it("a second signal quits at once", async () => {
    let sent = 0;
    const r = await superfaas(longPi, {
      onStderr: (text, child) => {
        if (sent === 0 && /tasks \(/.test(text)) {
          sent = 1;
          child.kill("SIGTERM");
        } else if (sent === 1 && /cancelling/.test(text)) {
          sent = 2;
          child.kill("SIGINT");
        }
      },
    });
    expect(sent).toBe(2);
    expect([130, 143]).toContain(r.code);
  });

  describe("on OpenWhisk with a bucket (loopback emulator and S3 server)", () => {
    let ow: OpenWhiskEmulator;
    let s3: S3TestServer;
    beforeAll(async () => {
      [ow, s3] = await Promise.all([startOpenWhiskEmulator({}), startS3Server()]);
    });
    afterAll(async () => {
      await Promise.allSettled([ow?.close(), s3?.close()]);
    });

    it("SIGTERM removes the deployed action and the run's objects before exiting 143", async () => {
      const { apihost, auth, namespace } = ow.clientOptions;
      const bucket = "sigterm-test";
      // Once every task is in flight, its object is under the run's prefix.
      const signal = signalWhen(() => ow.stats.invocations >= 4);
      const r = await superfaas(
        ["run", failing, "--job", "big-task-slow", "--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null"]
          .concat(["--bucket", bucket, "--s3-endpoint", s3.endpoint, "--s3-region", "us-east-1", "--concurrency", "4", "--timeout", "60"]),
        {
          env: { ...process.env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey },
          onStart: signal.onStart,
        },
      );
      expect(signal.sent).toBe(true);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[CANCELLED\]/)]);
      expect(r.code).toBe(143);
      const actions = await fetch(`${apihost}/api/v1/namespaces/${namespace}/actions`, { headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } });
      expect(await actions.json()).toEqual([]);
      const listing = await fetch(`${s3.endpoint}/${bucket}?list-type=2&prefix=superfaas/`);
      expect(await listing.text()).not.toMatch(/<Key>/);
    });
  });

  describe("on Lambda (loopback Lambda server and S3 server)", () => {
    let lambda: LambdaEmulator;
    let s3: S3TestServer;
    beforeAll(async () => {
      s3 = await startS3Server();
      // The environments hold s3rver's keys, as Lambda hands them the execution role's; the CLI signs with them too.
      lambda = await startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 6, credentials: s3.credentials });
    });
    afterAll(async () => {
      await Promise.allSettled([lambda?.close(), s3?.close()]);
    });
    const env = () => ({ ...process.env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: lambda.region });

    it("an endpoint that accepts connections and never answers fails within 3 x --api-timeout, naming the endpoint", async () => {
      // Accepts, reads, never writes a byte: each of the SDK's 3 attempts ends at --api-timeout and the socket is closed.
      const sockets = new Set<Socket>();
      let accepted = 0;
      let closedByClient = 0;
      const silent = createServer((socket) => {
        accepted++;
        sockets.add(socket);
        socket.on("data", () => {});
        socket.on("close", () => (closedByClient++, sockets.delete(socket)));
      });
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
      const { port } = silent.address() as { port: number };
      try {
        const r = await superfaas(
          ["run", failing, "--job", "throws-in-several", "--backend", "lambda", "--endpoint", `http://127.0.0.1:${port}`, "--region", "us-east-1"].concat(["--role", TEST_ROLE, "--api-timeout", "1"]),
          { env: env() },
        );
        expect(r.code).toBe(2); // a configuration error, like any other BACKEND_CONFIG
        expect(errorLines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`^error\\[BACKEND_CONFIG\\]: lambda: cannot reach http://127\\.0\\.0\\.1:${port} while looking up function superfaas-throws-in-several-`))]);
        expect(r.stderr).toMatch(/exceeded the configured 1000 ms requestTimeout/);
        expect(accepted).toBe(3); // the SDK's 3 attempts, each ended by --api-timeout
        expect(closedByClient).toBe(accepted);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((r) => silent.close(r));
      }
    });

    it("after a cancelled run with large results, nothing lands late: the bucket holds nothing under the run's prefix", async () => {
      const bucket = "lambda-cancel-test";
      // Once all 4 invocations run, each will write its 6.5 MB partial under the run's prefix when its sleep ends.
      const signal = signalWhen(() => lambda.stats.invocations >= 4);
      const r = await superfaas(
        ["run", failing, "--job", "big-result-slow", "--backend", "lambda", "--endpoint", lambda.endpoint, "--region", lambda.region, "--role", TEST_ROLE]
          .concat(["--bucket", bucket, "--s3-endpoint", s3.endpoint, "--concurrency", "4", "--function-timeout", "60", "--timeout", "60"]),
        {
          env: env(),
          onStart: signal.onStart,
        },
      );
      expect(signal.sent).toBe(true);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[CANCELLED\]/)]);
      expect(r.code).toBe(143);
      expect(lambda.functionNames()).toEqual([]);
      // The invocations outlive the CLI: wait until they have all finished writing (and removing) their partials.
      await expect.poll(() => lambda.environments().some((e) => e.busy), { timeout: 60_000, interval: 100 }).toBe(false);
      expect(lambda.stats.invocations).toBe(4);
      const listing = await fetch(`${s3.endpoint}/${bucket}?list-type=2&prefix=superfaas/`);
      expect(await listing.text()).not.toMatch(/<Key>/);
    });
  });
});

describe.skipIf(!built)(`the bundle cache${notBuilt}`, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "superfaas-cache-test-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const envWith = (cache: string) => ({ ...process.env, XDG_CACHE_HOME: cache });

  it("refuses a cache folder that other users can write to (they could swap a bundle this user will load)", async () => {
    const cache = join(dir, "shared");
    mkdirSync(join(cache, "superfaas", "bundles"), { recursive: true });
    chmodSync(join(cache, "superfaas", "bundles"), 0o777);
    const r = await superfaas(["run", "pi", "--points", "1e6"], { env: envWith(cache) });
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[BAD_INPUT\]: the bundle cache .* is not private to this user .* — remove it, or point XDG_CACHE_HOME/)]);
    expect(r.code).toBe(2);
  });

  it("keeps a --job name inside the cache: `--job ../../x` writes nowhere else", async () => {
    const root = join(dir, "jail");
    const cache = join(root, "a", "b");
    mkdirSync(cache, { recursive: true });
    const r = await superfaas(["run", fixture("sum-job.ts"), "--job", "../../x"], { env: envWith(cache) });
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[NO_JOB_EXPORT\]: .* exports no job named "\.\.\/\.\.\/x"/)]);
    expect(r.code).toBe(2);
    expect(readdirSync(root)).toEqual(["a"]);
    expect(readdirSync(join(root, "a"))).toEqual(["b"]);
    const bundles = readdirSync(join(cache, "superfaas", "bundles"));
    expect(bundles.length).toBeGreaterThan(0);
    for (const f of bundles) expect(f).toMatch(/^host-[\w.-]+\.mjs$/);
  });

  const nobody = NOBODY;
  const readable = canRunAs(nobody);
  it.skipIf(!readable)(
    `a second Unix user runs jobs with a cache of their own${readable ? "" : " (skipped: needs root to run as another user, and the checkout readable by them)"}`,
    async () => {
      // The first user (root) has a cache already; the second has no home, so theirs is a private temporary folder.
      const first = await superfaas(["run", "pi", "--points", "1e6"]);
      expect(first.code).toBe(0);
      const env = { PATH: process.env.PATH, HOME: "/nonexistent", TMPDIR: tmpdir() };
      const second = await superfaas(["run", "pi", "--points", "1e6"], { env, uid: nobody, gid: nobody });
      expect(second.stderr).not.toMatch(/EACCES|error\[/);
      expect(second.code).toBe(0);
      expect(readdirSync(join(tmpdir(), `superfaas-${nobody}`, "bundles")).some((f) => f.startsWith("local-pi-"))).toBe(true);
    },
  );
});
