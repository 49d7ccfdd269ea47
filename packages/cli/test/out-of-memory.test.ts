// A task that runs out of memory, through the real `superfaas` process on each backend: one error line that says so,
// with the memory the task had and the flag that raises it; exit 1; no retry with the same memory; nothing left deployed.
// The limits are real: a worker thread's heap limit locally, and in the loopback servers each container or execution
// environment is killed (SIGKILL) when its resident memory passes the action's or function's memory, as a cgroup does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLambdaEmulator, startOpenWhiskEmulator, TEST_ROLE, type LambdaEmulator, type OpenWhiskEmulator } from "@superfaas/testing";
import { fixture } from "./helpers.js";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

const hog = fixture("memory-hog.mjs");
const report = (stdout: string) => JSON.parse(stdout) as { status: string; totals: { attempts: number; retries: number }; error?: { code: string } };

describe.skipIf(!built)(`a task that runs out of memory${notBuilt}`, () => {
  let ow: OpenWhiskEmulator;
  let lambda: LambdaEmulator;
  beforeAll(async () => {
    [ow, lambda] = await Promise.all([startOpenWhiskEmulator({}), startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 2 })]);
  });
  afterAll(async () => {
    await Promise.allSettled([ow?.close(), lambda?.close()]);
  });

  it("is named, with its memory and the flag to raise, on local, OpenWhisk and Lambda, and is not retried", async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    const [local, openwhisk, aws] = await Promise.all([
      superfaas(["run", hog, "--max-heap-mb", "48", "--workers", "1", "--json"]),
      superfaas(["run", hog, "--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null", "--memory", "128", "--json"]),
      superfaas(["run", hog, "--backend", "lambda", "--endpoint", lambda.endpoint, "--region", lambda.region, "--role", TEST_ROLE, "--memory", "128", "--json"], {
        env: { ...process.env, AWS_ACCESS_KEY_ID: lambda.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: lambda.credentials.secretAccessKey },
      }),
    ]);
    const cases = [
      [local, /^error\[OUT_OF_MEMORY\]: task 0 ran out of memory: worker heap 48 MB \(the worker thread reached its heap limit and was stopped: ERR_WORKER_OUT_OF_MEMORY\); not retried.* — raise --max-heap-mb above 48, or split the work into more, smaller tasks with --tasks$/],
      [openwhisk, /^error\[OUT_OF_MEMORY\]: task 0 ran out of memory: action memory 128 MB \(activation \w+: "The action exhausted its memory and was aborted\."\); not retried.* — raise --memory above 128 \(at most 512\), or split the work into more, smaller tasks with --tasks$/],
      [aws, /^error\[OUT_OF_MEMORY\]: task 0 ran out of memory: function memory 128 MB \(Runtime\.OutOfMemory: RequestId: [\w-]+ Error: Runtime exited with error: signal: killed \(Max Memory Used 128 MB of 128 MB\)\); not retried.* — raise --memory above 128 \(at most 10240\), or split the work into more, smaller tasks with --tasks$/],
    ] as const;
    for (const [r, line] of cases) {
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(line)]);
      expect(r.code).toBe(1);
      const rep = report(r.stdout);
      expect(rep).toMatchObject({ status: "failed", error: { code: "OUT_OF_MEMORY" }, totals: { attempts: 1, retries: 0 } });
    }
    // The platforms saw one invocation each and really killed the container / environment for its memory.
    expect(ow.stats).toMatchObject({ invocations: 1, memoryKills: 1 });
    expect(lambda.stats).toMatchObject({ invocations: 1, outOfMemory: 1 });
    // Nothing left deployed.
    const actions = await fetch(`${apihost}/api/v1/namespaces/${namespace}/actions`, { headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } });
    expect(await actions.json()).toEqual([]);
    expect(lambda.functionNames()).toEqual([]);
  }, 120_000);
});
