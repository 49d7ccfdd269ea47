// Fault injection: each fault applies to the next `count` invocations (POST .../actions/NAME), taken in order as the
// invocations arrive. The emulator's methods of the same names (throttleNext, failNext, ...) put them here.
import { checkStraggle } from "../straggle.js";
import type { Emulator, Faults } from "./model.js";
import type { StraggleSpec } from "./options.js";

/**
 * The next invocations are throttled as the platform throttles them (`reason`): "concurrent" or "minute" answer 429
 * with the controller's message (of the `scheduler` chosen); "queue" is the FPC scheduler's MemoryQueue: the
 * invocation is accepted and its activation recorded as failed without running ("action developer error", or with
 * `whiskError` "whisk internal error"), which a blocking invoke answers with 502 (500) and the record.
 */
export function throttleNext(emu: Emulator, count = 1, { reason = "concurrent", whiskError = false }: { reason?: "concurrent" | "minute" | "queue"; whiskError?: boolean } = {}): void {
  if (!["concurrent", "minute", "queue"].includes(reason)) throw new Error(`throttleNext: reason ${reason}: pick concurrent, minute or queue`);
  emu.faults.throttle.push({ left: count, reason, whiskError });
}

/** The next invocations answer a 5xx: 502 and 504 as an HTML page (a proxy in front), others as JSON. */
export function failNext(emu: Emulator, count = 1, { status = 503 }: { status?: number } = {}): void {
  emu.faults.serverError.push({ left: count, status });
}

/** The next activations end as "application error" with `{error: message}`, without running. */
export function applicationErrorNext(emu: Emulator, count = 1, { message = "injected application error" }: { message?: string } = {}): void {
  emu.faults.applicationError.push({ left: count, message });
}

/** The next activations wait `delayMs` in the invoker's queue before they run (default: past the blocking window). */
export function slowNext(emu: Emulator, count = 1, { delayMs }: { delayMs?: number } = {}): void {
  emu.faults.slow.push({ left: count, delayMs: delayMs ?? emu.limits.blockingWindowMs + 300 });
}

/** The next activations are accepted but never run nor recorded: GET answers 404 for ever. */
export function loseNext(emu: Emulator, count = 1): void {
  emu.faults.lost.push({ left: count });
}

/** The next activations' containers die (SIGKILL) `afterMs` after the run request reaches them. */
export function crashNext(emu: Emulator, count = 1, { afterMs = 0 }: { afterMs?: number } = {}): void {
  emu.faults.crash.push({ left: count, afterMs });
}

/** The next activations' containers are killed for exceeding their memory `afterMs` after the run request reaches them. */
export function exhaustMemoryNext(emu: Emulator, count = 1, { afterMs = 0 }: { afterMs?: number } = {}): void {
  emu.faults.memory.push({ left: count, afterMs });
}

/** Sets (or with undefined, clears) the `straggle` rule; it picks from the next activation on, as if newly started. */
export function setStraggle(emu: Emulator, spec: StraggleSpec | undefined): void {
  emu.options.straggle = checkStraggle(spec, "OpenWhisk emulator");
  emu.straggleSeq = 0;
}

/** Drops every fault not yet used. */
export function clearFaults(emu: Emulator): void {
  for (const list of Object.values(emu.faults)) list.length = 0;
}

/** Takes one use of the first fault of this kind, if any. */
export function takeFault<K extends keyof Faults>(emu: Emulator, kind: K): Faults[K][number] | undefined {
  const list = emu.faults[kind];
  const f = list[0];
  if (!f) return undefined;
  if (--f.left <= 0) list.shift();
  return f;
}

/** No fault waiting. */
export const noFaults = (): Faults => ({ serverError: [], throttle: [], applicationError: [], slow: [], lost: [], crash: [], memory: [] });
