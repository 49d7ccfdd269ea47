// Fault injection: faults queued by the tests (throttles, function errors, timeouts, crashes, out-of-memory kills,
// 5xx answers), each taken by the next invocations it matches, and the other levers the tests pull (reserved
// concurrency, held updates, deactivation).
import { deactivate } from "./functions.js";
import type { Emulator, Fault, FaultKind, FunctionRecord, Inject } from "./model.js";
import type { LambdaEmulatorFaults } from "./options.js";

/** Takes one of the next faults of these kinds for the function, if one is queued. */
export function takeFault(emu: Emulator, fnName: string, kinds: FaultKind[]): Fault | undefined {
  const i = emu.faultQueue.findIndex((f) => kinds.includes(f.kind) && (!f.functionName || f.functionName === fnName));
  if (i < 0) return undefined;
  const f = emu.faultQueue[i]!;
  if (--f.remaining <= 0) emu.faultQueue.splice(i, 1);
  return f;
}

/** What the environment is told to do for a fault that happens inside an invocation. */
export function injectOf(fault: Fault): Inject {
  return fault.kind === "error"
    ? { kind: "throw", message: fault.message, name: fault.name }
    : fault.kind === "timeout"
      ? { kind: "hang", afterMs: fault.afterMs }
      : fault.kind === "oom"
        ? { kind: "oom", afterMs: fault.afterMs }
        : { kind: "exit", code: fault.exitCode ?? 1 };
}

/** The `faults` handle of a running emulator. */
export function faultsHandle(emu: Emulator): LambdaEmulatorFaults {
  const add = (kind: FaultKind, count: number | undefined, extra: Partial<Fault>) => {
    emu.faultQueue.push({ kind, remaining: Math.max(1, count ?? 1), ...extra });
  };
  const named = (functionName: string): FunctionRecord => {
    const fn = emu.functions.get(functionName);
    if (!fn) throw new Error(`no function ${functionName}`);
    return fn;
  };
  return {
    throttle: (count = 1, opts = {}) => add("throttle", count, opts),
    functionError: (count = 1, opts = {}) => add("error", count, opts),
    timeout: (count = 1, opts = {}) => add("timeout", count, opts),
    crash: (count = 1, opts = {}) => add("crash", count, opts),
    outOfMemory: (count = 1, opts = {}) => add("oom", count, opts),
    serverError: (count = 1, opts = {}) => add("server", count, opts),
    reserveConcurrency(functionName, n) {
      named(functionName).reserved = n;
    },
    holdUpdates(functionName) {
      const fn = named(functionName);
      const hold: NonNullable<FunctionRecord["hold"]> = (fn.hold = { pending: undefined });
      return () => {
        if (fn.hold === hold) fn.hold = undefined;
        void hold.pending?.();
      };
    },
    deactivate(functionName) {
      deactivate(emu, named(functionName));
    },
    pending: () => emu.faultQueue.reduce((s, f) => s + f.remaining, 0),
    clear: () => void emu.faultQueue.splice(0),
  };
}
