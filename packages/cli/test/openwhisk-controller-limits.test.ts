// What a controller configured unlike the client's defaults does to a run, through the real `superfaas` process: a
// controller whose longest blocking wait (max-wait-for-blocking-activation) is below what the client asks for refuses
// every blocking invocation with 400, which the client reads as the maximum it must stay under; and the info document
// (`GET /`), which the controller serves to anyone, is read without sending the key; a --concurrency above the
// namespace's concurrent_actions is lowered to it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenWhiskEmulator, type OpenWhiskEmulator } from "@superfaas/testing";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

const connect = (em: OpenWhiskEmulator) => ["--backend", "openwhisk", "--apihost", em.url, "--auth", em.auth, "--namespace", em.namespace, "--wskprops", "/dev/null"];

describe.skipIf(!built)(`openwhisk: the controller's own limits${notBuilt}`, () => {
  let em: OpenWhiskEmulator;
  beforeAll(async () => {
    // A blocking wait of at most 1.5 s, where the client asks for 24 s (80% of --proxy-timeout 30).
    em = await startOpenWhiskEmulator({ blockingWindowMs: 1_500 });
  });
  afterAll(async () => {
    await em?.close();
  });

  it("a run stays under the controller's maximum blocking wait once the controller names it, and completes", async () => {
    const r = await superfaas(["run", "pi", "--points", "2e6", "--tasks", "4", "--concurrency", "2", "--verbose", ...connect(em)]);
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3\.1/);
    expect(r.stderr).toContain("openwhisk: the controller waits at most 1500 ms for a blocking invocation (it refused timeout=24000)");
    // Only the invocations sent before the controller named its maximum were refused (2 in flight at most); every
    // activation made was asked for with a timeout the controller accepts.
    expect(em.stats.rejected).toBeGreaterThan(0);
    expect(em.stats.rejected).toBeLessThanOrEqual(2);
    expect(em.stats.completed).toBeGreaterThanOrEqual(4);
  });

  it("a --concurrency above the namespace's concurrent_actions is lowered to it, said once, and the run earns no 429", async () => {
    // A stock namespace (30 in flight) whose per-minute limit is out of the way.
    const wide = await startOpenWhiskEmulator({ invocationsPerMinute: 100_000 });
    try {
      const r = await superfaas(["run", "pi", "--points", "4e6", "--tasks", "40", "--concurrency", "45", "--json", ...connect(wide)]);
      expect(errorLines(r.stderr)).toEqual([]);
      expect(r.code).toBe(0);
      expect(r.stderr.split("\n").filter((l) => l.startsWith("note: --concurrency"))).toEqual(["note: --concurrency 45 lowered to 30: openwhisk runs at most 30 attempts at once here"]);
      expect(JSON.parse(r.stdout).concurrency).toBe(30);
      expect(wide.stats.throttled).toBe(0);
      expect(wide.stats.peakInFlight).toBeLessThanOrEqual(30);
    } finally {
      await wide.close();
    }
  });

  it("a task longer than the controller's maximum wait is polled to its end", async () => {
    // Each activation waits 2.5 s before it runs: past the 1.5 s the controller waits, so each answers 202 and is
    // polled, however fast this machine samples.
    const before = em.stats.polls;
    em.slowNext(2, { delayMs: 2_500 });
    const r = await superfaas(["run", "pi", "--points", "2e6", "--tasks", "2", "--concurrency", "2", ...connect(em)]);
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    expect(em.stats.polls).toBeGreaterThan(before);
  });

  it("reads the info document without credentials: the key goes only to the authenticated API", async () => {
    const r = await superfaas(["run", "pi", "--points", "1e6", "--tasks", "2", ...connect(em)]);
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    expect(em.stats.infoWithCredentials).toBe(0);
  });
});
