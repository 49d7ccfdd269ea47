// Invocations (POST .../actions/NAME): the injected faults, the payload limit, the throttles (per minute, then in
// flight; worded by the scheduler chosen), the blocking window and its `timeout` parameter, and the activation made
// and sent on its way to an invoker (or recorded at once, for the faults that never run it).
import type { IncomingMessage, ServerResponse } from "node:http";
import { straggles } from "../straggle.js";
import { takeFault } from "./faults.js";
import { APPLICATION_ERROR, DEVELOPER_ERROR, msg, STATUS, SUCCESS, WHISK_ERROR } from "./messages.js";
import type { Activation, Emulator } from "./model.js";
import type { ActivationRecord } from "./options.js";
import { hex } from "./util.js";

export async function invoke(emu: Emulator, req: IncomingMessage, res: ServerResponse, url: URL, ns: string, _name: string, key: string): Promise<void> {
  emu.stats.invocations++;
  const failure = takeFault(emu, "serverError");
  if (failure) {
    emu.stats.rejected++;
    req.resume();
    if (failure.status === 502 || failure.status === 504) {
      const title = failure.status === 502 ? "502 Bad Gateway" : "504 Gateway Time-out";
      return emu.send(res, failure.status, `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`);
    }
    return emu.error(res, failure.status, failure.status === 503 ? msg.overloaded : "Internal server error");
  }
  const body = await emu.readBody(req, emu.limits.maxParameterBytes);
  if (body.tooLarge) {
    emu.stats.rejected++;
    return emu.error(res, 413, msg.tooBig("Request", body.size, emu.limits.maxParameterBytes));
  }
  const action = emu.actions.get(key);
  if (!action) return emu.error(res, 404, msg.notFound);
  let params: unknown;
  try {
    params = body.text.trim() ? JSON.parse(body.text) : {};
  } catch (err) {
    return emu.error(res, 400, msg.malformed((err as Error).message));
  }
  if (params === null || typeof params !== "object" || Array.isArray(params)) return emu.error(res, 400, msg.malformed("parameters must be a JSON object"));

  // Throttles: the per-minute count (fixed wall-clock minutes, counting refused calls too), then the
  // activations in flight, as the controller checks them.
  const injected = takeFault(emu, "throttle");
  const minute = Math.floor(emu.options.clock() / 60_000);
  if (minute !== emu.ns.minute) {
    emu.ns.minute = minute;
    emu.ns.minuteCount = 0;
  }
  emu.ns.minuteCount++;
  const perMinute = emu.limits.invocationsPerMinute;
  const concurrent = emu.limits.concurrentInvocations;
  if (injected?.reason === "minute" || emu.ns.minuteCount > perMinute) {
    emu.stats.throttled++;
    return emu.error(res, 429, msg.tooManyRequests(Math.max(emu.ns.minuteCount, perMinute + 1), perMinute));
  }
  if ((injected && injected.reason !== "queue") || emu.ns.inFlight >= concurrent) {
    emu.stats.throttled++;
    return emu.error(res, 429, emu.options.scheduler === "fpc" ? msg.tooManyRequestsFpc : msg.tooManyConcurrent(Math.max(emu.ns.inFlight, concurrent), concurrent));
  }

  // The `timeout` query parameter is read as the request is routed, blocking or not: an integer from 1 to the
  // configured maximum (controller.activation.max-wait-for-blocking-activation, 60 s by default), anything else is
  // refused with 400 before the activation is made, never clamped (Actions.scala, `stringToFiniteDuration`).
  let windowMs = emu.limits.blockingWindowMs;
  if (url.searchParams.has("timeout")) {
    const given = url.searchParams.get("timeout");
    const ms = /^[+-]?\d+$/.test(given ?? "") ? Number(given) : Number.NaN;
    if (!(ms > 0 && ms <= emu.limits.blockingWindowMs && ms <= 2 ** 31 - 1)) {
      emu.stats.rejected++;
      return emu.error(res, 400, msg.malformedQuery("timeout", msg.invalidTimeout(emu.limits.blockingWindowMs)));
    }
    windowMs = ms;
  }

  const act: Activation = {
    id: hex(16),
    key,
    ns,
    action,
    // Bound parameters first: invocation parameters override them.
    params: { ...Object.fromEntries(action.parameters.map((p) => [p.key, p.value])), ...(params as Record<string, unknown>) },
    acceptedAt: Date.now(),
    waiters: new Set(),
    logs: [],
  };
  emu.stats.accepted++;
  // A straggler (the `straggle` option), picked by the order activations are accepted in: see run().
  if (emu.options.straggle && straggles(emu.options.straggle, emu.straggleSeq++)) act.slowBy = emu.options.straggle.factor;
  emu.ns.inFlight++;
  emu.stats.peakInFlight = Math.max(emu.stats.peakInFlight, emu.ns.inFlight);
  emu.pending.set(act.id, act);

  if (takeFault(emu, "lost")) {
    // Accepted, then dropped on the way to an invoker: it never runs and is never recorded.
    emu.pending.delete(act.id);
    emu.ns.inFlight--;
    emu.lost.add(act.id);
  } else {
    const appError = takeFault(emu, "applicationError");
    const slow = takeFault(emu, "slow");
    const crash = takeFault(emu, "crash");
    if (crash) act.crashAfterMs = crash.afterMs;
    const memory = crash ? undefined : takeFault(emu, "memory");
    if (memory) {
      act.crashAfterMs = memory.afterMs;
      act.memoryKill = true;
    }
    if (injected?.reason === "queue") {
      const now = Date.now();
      emu.stats.throttled++;
      emu.complete(act, { statusCode: injected.whiskError ? WHISK_ERROR : DEVELOPER_ERROR, result: { error: msg.tooManyConcurrentQueue } }, { start: now, end: now, fallback: true });
    } else if (appError) {
      const now = Date.now();
      emu.complete(act, { statusCode: APPLICATION_ERROR, result: { error: appError.message } }, { start: now, end: now });
    } else if (slow) {
      // Held back by the wall clock (what the record's waitTime counts): a timer may fire a millisecond early.
      const due = act.acceptedAt + slow.delayMs;
      const release = (): unknown => (Date.now() >= due ? emu.enqueue(act) : emu.later(due - Date.now(), release));
      emu.later(slow.delayMs, release);
    } else if (emu.options.invokeOverheadMs > 0) {
      emu.later(emu.options.invokeOverheadMs, () => emu.enqueue(act));
    } else {
      emu.enqueue(act);
    }
  }

  const blocking = url.searchParams.get("blocking") === "true";
  const resultOnly = url.searchParams.get("result") === "true";
  if (!blocking) return emu.send(res, 202, { activationId: act.id });
  const record = await waitFor(emu, act, windowMs, res);
  if (!record) return emu.send(res, 202, { activationId: act.id });
  const code = STATUS.indexOf(record.response.status);
  const status = code === SUCCESS ? 200 : code === WHISK_ERROR ? 500 : 502;
  return emu.send(res, status, resultOnly ? record.response.result : record);
}

/** Resolves with the record once the activation completes, or undefined when the window runs out first. */
function waitFor(emu: Emulator, act: Activation, windowMs: number, res: ServerResponse): Promise<ActivationRecord | undefined> {
  const done = emu.activations.get(act.id);
  if (done) return Promise.resolve(done);
  return new Promise((resolve) => {
    const finish = (record: ActivationRecord | undefined) => {
      clearTimeout(timer);
      emu.timers.delete(timer);
      act.waiters.delete(finish);
      resolve(record);
    };
    const timer = setTimeout(() => finish(undefined), windowMs);
    emu.timers.add(timer);
    act.waiters.add(finish);
    res.once("close", () => finish(undefined));
  });
}
