// The job every backend runs in the conformance suite. Imports stay narrow (job and errors only) so the
// bundle is small on every platform.
import { defineJob } from "../job/job.js";
import { RetryableError } from "../errors.js";

/** One conformance task: an operation for `map` to perform. */
export type FixtureTask =
  | { op: "echo"; value: unknown; sleepMs?: number }
  | { op: "sleep"; ms: number }
  | { op: "throw"; message: string }
  | { op: "flaky"; failUntilAttempt: number; value: unknown; sleepMs?: number }
  | { op: "crash"; onAttempt: number; value: unknown }
  | { op: "payload"; kind: "unicode" | "nested" | "binary" | "large"; bytes?: number; seed: number; sleepMs?: number }
  | { op: "notJson" }
  /** A straggler whose first attempt takes `firstMs` and every later one `ms` (a backup, say); answers its attempt. */
  | { op: "straggle"; value: unknown; firstMs: number; ms: number }
  /** Throws (or rejects) from a timer, outside map's own await, while map waits for `ms`. */
  | { op: "escape"; how: "throw" | "reject"; message: string; ms: number };

/** Deterministic pseudo-random bytes (xorshift32), so both sides can build the same payload. */
export function fixtureBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The partial a `payload` task must come back with, computed identically on both sides. */
export function fixturePayload(kind: "unicode" | "nested" | "binary" | "large", seed: number, bytes = 0): unknown {
  switch (kind) {
    case "unicode":
      return {
        text: "π ≈ 3.14159 — Grüße, 你好, مرحبا, 🚀👩‍👩‍👧‍👦, \u0000nul, \u2028line sep, tab\t, quote\" back\\slash",
        astral: String.fromCodePoint(0x1f600, 0x10ffff, 0x1d11e),
        keys: { "ключ": 1, "🔑": 2, "": 3 },
      };
    case "nested": {
      let v: unknown = { leaf: [1, -0.5, 1e-300, 1.7976931348623157e308, true, false, null, ""] };
      for (let d = 0; d < 64; d++) v = { d, child: v, list: [d, [d, [d]]] };
      return v;
    }
    case "binary":
      return { base64: Buffer.from(fixtureBytes(seed, 4096)).toString("base64") };
    case "large": {
      const b64 = Buffer.from(fixtureBytes(seed, Math.ceil((bytes * 3) / 4))).toString("base64");
      return { bytes, data: b64.slice(0, bytes) };
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The conformance job: input is the list of tasks; output is the list of partials in task order. */
export const conformanceJob = defineJob({
  name: "conformance",
  partition: (input: { tasks: FixtureTask[] }) => input.tasks,
  async map(task: FixtureTask, ctx): Promise<unknown> {
    const startedAt = Date.now();
    switch (task.op) {
      case "echo":
        if (task.sleepMs) await sleep(task.sleepMs);
        return { value: task.value, startedAt, finishedAt: Date.now(), workerId: ctx.workerId };
      case "sleep":
        await sleep(task.ms);
        return { startedAt, finishedAt: Date.now() };
      case "throw":
        throwFromFixture(task.message);
        return null;
      case "flaky":
        if (task.sleepMs) await sleep(task.sleepMs);
        if (ctx.attempt < task.failUntilAttempt) throw new RetryableError(`flaky failure on attempt ${ctx.attempt}`);
        return { value: task.value, attempt: ctx.attempt };
      case "crash":
        if (ctx.attempt === task.onAttempt) {
          // Dies without answering, as a segfault or an OOM kill would.
          setImmediate(() => process.exit(7));
          await sleep(60_000);
        }
        return { value: task.value, attempt: ctx.attempt };
      case "payload":
        if (task.sleepMs) await sleep(task.sleepMs);
        return fixturePayload(task.kind, task.seed, task.bytes);
      case "straggle":
        await sleep(ctx.attempt === 1 ? task.firstMs : task.ms);
        return { value: task.value, attempt: ctx.attempt };
      case "notJson":
        return { when: new Date(0), big: 1 };
      case "escape":
        setTimeout(() => {
          if (task.how === "throw") throw new RangeError(task.message);
          void Promise.reject(new RangeError(task.message));
        }, 10);
        await sleep(task.ms);
        return { escaped: false };
    }
  },
  reduce: (partials: unknown[]) => partials,
});

function throwFromFixture(message: string): never {
  throw new TypeError(message);
}
