import { describe, expect, expectTypeOf, it } from "vitest";
import { SuperfaasError } from "../src/errors.js";
import { defineJob } from "../src/job/job.js";
import { coerceParam, resolveParams, type InputOf, type ParamSpec } from "../src/job/params.js";

const kernel = { type: "string", default: "wasm", choices: ["wasm", "js"], description: "kernel" } as const;

function thrown(f: () => unknown): SuperfaasError {
  try {
    f();
  } catch (e) {
    return e as SuperfaasError;
  }
  throw new Error("expected an error, but nothing was thrown");
}

describe("string parameters with choices", () => {
  it("accepts each choice and fills the default", () => {
    expect(resolveParams({ kernel }, { kernel: "js" })).toEqual({ kernel: "js" });
    expect(resolveParams({ kernel }, { kernel: "wasm" })).toEqual({ kernel: "wasm" });
    expect(resolveParams({ kernel }, {})).toEqual({ kernel: "wasm" });
  });

  it("rejects any other value with BAD_INPUT naming the flag and every choice", () => {
    for (const raw of ["foo", "WASM", "", " js"]) {
      const e = thrown(() => coerceParam("kernel", kernel, raw));
      expect(e).toBeInstanceOf(SuperfaasError);
      expect(e.code).toBe("BAD_INPUT");
      expect(e.message).toBe(`invalid value ${JSON.stringify(raw)} for kernel: not one of wasm, js`);
      expect(e.hint).toBe("--kernel takes one of: wasm, js");
    }
  });

  it("types the job's input as the union of the choices", () => {
    expectTypeOf<InputOf<{ kernel: typeof kernel }>>().toEqualTypeOf<{ kernel: "wasm" | "js" }>();
    const job = defineJob({
      name: "choices",
      params: { kernel },
      partition: (input) => [input.kernel],
      map: (k: "wasm" | "js") => k,
      reduce: (ks: string[]) => ks.join(),
    });
    expect(job.partition({ kernel: "js" }, { tasks: 1, concurrency: 1 })).toEqual(["js"]);
  });

  it("refuses, when the job is defined, choices that could never work", () => {
    const define = (spec: ParamSpec) => () =>
      defineJob({ name: "bad", params: { k: spec }, partition: () => [], map: () => 0, reduce: () => 0 });
    expect(thrown(define({ type: "string", default: "c", choices: ["a", "b"], description: "" })).message).toBe(
      'defineJob: params.k: the default "c" is not one of the choices (a, b)',
    );
    expect(thrown(define({ type: "string", default: "a", choices: [], description: "" })).message).toBe("defineJob: params.k: choices is empty");
    expect(thrown(define({ type: "count", default: 1, choices: ["1"], description: "" })).message).toBe(
      "defineJob: params.k: choices are for string parameters, not count",
    );
  });
});
