// The backend conformance suite against LambdaBackend on the loopback Lambda emulator, with a real S3-compatible
// server (s3rver) for payloads over Lambda's 6 MB limit.
import { afterAll, beforeAll } from "vitest";
import { run } from "@superfaas/core";
import { conformanceJob, describeConformance, type FixtureTask } from "@superfaas/core/conformance";
import { startTestbed, type LambdaTestbed } from "./helpers.js";

let tb: LambdaTestbed;
let warmed = false;
beforeAll(async () => {
  tb = await startTestbed({ s3: true, emulator: { maxEnvironments: 16 } });
});
afterAll(async () => {
  await tb?.close();
});

describeConformance({
  name: "lambda (loopback emulator + s3rver)",
  objectStore: { keys: (prefix) => tb.keys(prefix), writes: () => tb.s3!.writes, deletes: () => tb.s3!.deletes },
  billed: true,
  async createBackend() {
    const backend = tb.backend();
    if (warmed) return backend;
    warmed = true;
    // Deploy and start 8 execution environments first, as provisioned concurrency would: the ordering test runs 8
    // tasks at once and must not measure cold starts that a loaded 2-core machine spreads over a second.
    const warm: FixtureTask[] = Array.from({ length: 8 }, (_, i) => ({ op: "echo", value: i, sleepMs: 300 }));
    await run(conformanceJob, { tasks: warm }, { backend, concurrency: 8 });
    return backend;
  },
  // Over the 6 MB invoke limit, so the partial must come back through the bucket.
  largePayloadBytes: 7 * 1024 * 1024,
});
