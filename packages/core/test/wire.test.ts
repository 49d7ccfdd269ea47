// The wire format both ends use (remote/wire.ts): what the orchestrator encodes, the remote runtime accepts, and
// what the runtime answers, the orchestrator opens.
import { describe, expect, it } from "vitest";
import { TaskError } from "../src/errors.js";
import { runTask } from "../src/remote/runtime.js";
import { checkTaskRequest, encodeTaskRequest, failureEnvelope, JOB_LOAD_ERROR, openEnvelope, StoreKeys, taskIndexOf } from "../src/remote/wire.js";
import { defineJob } from "../src/job/job.js";

const keys = { resultKey: 'superfaas/r"1/results/7.json', ownerKey: "superfaas/r1/owner.json", maxInlineBytes: 1_000_000 };
const storeFields = new StoreKeys('superfaas/r"1/', keys.ownerKey, keys.maxInlineBytes).fields(7);

describe("the request of one attempt", () => {
  it("round-trips inline tasks, tasks by reference and the store's keys, as the platform's JSON parser reads them", () => {
    const task = { text: "é\u2028\"quoted\"", n: [1, 2, 3] };
    const inline = JSON.parse(encodeTaskRequest(12, 2, JSON.stringify(task), undefined, storeFields));
    expect(inline).toEqual({ taskIndex: 12, attempt: 2, task, ...keys });
    expect(checkTaskRequest(inline)).toBeUndefined();
    const byRef = JSON.parse(encodeTaskRequest(0, 1, undefined, "superfaas/r1/tasks/0.json"));
    expect(byRef).toEqual({ taskIndex: 0, attempt: 1, taskRef: "superfaas/r1/tasks/0.json" });
    expect(checkTaskRequest(byRef)).toBeUndefined();
    expect(JSON.parse(encodeTaskRequest(3, 1, undefined))).toEqual({ taskIndex: 3, attempt: 1 });
  });

  it("gives the task index back without parsing the body, and NaN for a body it did not make", () => {
    for (const i of [0, 7, 123_456_789]) expect(taskIndexOf(encodeTaskRequest(i, 1, '{"taskIndex":99}'))).toBe(i);
    expect(taskIndexOf('{"attempt":1,"taskIndex":4}')).toBeNaN();
    expect(taskIndexOf("")).toBeNaN();
  });

  it("refuses what is not a task request with what is wrong", () => {
    expect(checkTaskRequest(null)).toMatch(/not a superfaas task request \(null\)/);
    expect(checkTaskRequest([1])).toMatch(/\(an array\)/);
    expect(checkTaskRequest({ key1: "value1" })).toMatch(/taskIndex undefined is not a whole number >= 0/);
    expect(checkTaskRequest({ taskIndex: -1, attempt: 1 })).toMatch(/taskIndex -1/);
    expect(checkTaskRequest({ taskIndex: 1.5, attempt: 1 })).toMatch(/taskIndex 1.5/);
    expect(checkTaskRequest({ taskIndex: 0, attempt: 0 })).toMatch(/attempt 0 is not a whole number >= 1/);
    expect(checkTaskRequest({ taskIndex: 0, attempt: 1, taskRef: 5 })).toMatch(/taskRef, resultKey and ownerKey are texts/);
    expect(checkTaskRequest({ taskIndex: 0, attempt: 1, maxInlineBytes: "big" })).toMatch(/maxInlineBytes is a whole number/);
  });

  it("the runtime answers someone else's event with one non-retryable error, without running map", async () => {
    let ran = false;
    const job = defineJob({
      name: "wire-probe",
      partition: () => [1],
      map: () => {
        ran = true;
        return 1;
      },
      reduce: (ps: number[]) => ps.length,
    });
    const env = await runTask(job, { key1: "value1" } as never, "test:1");
    expect(ran).toBe(false);
    expect(env).toMatchObject({ ok: false, error: { retryable: false, message: expect.stringMatching(/^not a superfaas task request: taskIndex undefined .*: this function runs superfaas tasks; invoke it through superfaas$/) } });
  });
});

describe("the envelope the function answers with", () => {
  it("opens a success as the result and a failure as the remote TaskError, name and stack kept", () => {
    const ok = { ok: true as const, partial: { hits: 3 }, workerId: "w", coldStart: true, durationMs: 4 };
    expect(openEnvelope(JSON.parse(JSON.stringify(ok)))).toEqual(ok);
    const load = new Error("SyntaxError: Unexpected token");
    load.name = JOB_LOAD_ERROR;
    const failed = JSON.parse(JSON.stringify(failureEnvelope(load, false, "w", false, 1)));
    let thrown: unknown;
    try {
      openEnvelope(failed);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(TaskError);
    expect(thrown).toMatchObject({ message: "SyntaxError: Unexpected token", retryable: false, origin: "remote", name: JOB_LOAD_ERROR });
    expect((thrown as TaskError).remoteStack).toContain("SyntaxError");
  });

  it("an answer that is no envelope is the platform's failure, retried", () => {
    expect(() => openEnvelope({ statusCode: 200 })).toThrow(expect.objectContaining({ retryable: true, origin: "platform" }));
  });
});
