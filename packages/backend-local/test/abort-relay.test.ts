import { describe, expect, it } from "vitest";
import { run } from "@superfaas/core";
import { conformanceJob } from "@superfaas/core/conformance";
import { watchAbort, watchedSignals } from "../src/abort-relay.js";
import { localBackend } from "../src/index.js";

describe("abort relay", () => {
  it("removes the listener it is given, only that one, and then stops watching the signal", () => {
    const before = watchedSignals();
    const relay = watchAbort(new AbortController().signal);
    const listener = () => {};
    relay.once("abort", listener);
    relay.removeListener("abort", () => {});
    expect(relay.listener).toBe(listener);
    expect(watchedSignals()).toBe(before + 1);
    relay.off("abort", listener);
    expect(relay.listener).toBeUndefined();
    expect(watchedSignals()).toBe(before);
  });

  it("still relays an abort to the listener", async () => {
    const controller = new AbortController();
    const relay = watchAbort(controller.signal);
    const heard = new Promise<unknown>((resolve) => relay.once("abort", () => resolve(relay.reason)));
    controller.abort("stop");
    expect(await heard).toBe("stop");
    expect(relay.aborted).toBe(true);
  });

  it("watches no signal once a run's attempts are over, with one or several attempts per worker", async () => {
    for (const tasksPerWorker of [1, 3]) {
      const backend = localBackend({ workers: 1, tasksPerWorker });
      try {
        const tasks = [
          { op: "flaky" as const, failUntilAttempt: 2, value: 1 },
          { op: "echo" as const, value: 2 },
          { op: "echo" as const, value: 3 },
        ];
        const { output } = await run(conformanceJob, { tasks }, { backend, retries: 2 });
        expect((output as { value: number }[]).map((o) => o.value)).toEqual([1, 2, 3]);
        expect(watchedSignals()).toBe(0);
      } finally {
        await backend.dispose();
      }
    }
  });
});
