// The Invoke front end: the checks Lambda makes before it runs anything (qualifier, JSON event, the function's
// state, injected 5xx answers and throttles, reserved concurrency), the invocation types (RequestResponse, Event,
// DryRun), and the answer's headers (X-Amz-Function-Error, X-Amz-Log-Result with the log's last 4 KB).
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, throttle } from "./api-error.js";
import { execute } from "./execute.js";
import { injectOf, takeFault } from "./faults.js";
import { wake } from "./functions.js";
import type { Emulator, FunctionRecord } from "./model.js";
import { LOG_TAIL_BYTES } from "./profile.js";

/** POST /2015-03-31/functions/NAME/invocations. */
export async function invoke(emu: Emulator, req: IncomingMessage, res: ServerResponse, fn: FunctionRecord, requestId: string, url: URL, buf: Buffer): Promise<void> {
  const qualifier = url.searchParams.get("Qualifier");
  if (qualifier && qualifier !== "$LATEST") throw new ApiError(404, "ResourceNotFoundException", `Function not found: ${fn.config.FunctionArn}:${qualifier}`);
  const eventText = buf.length ? buf.toString("utf8") : "{}";
  try {
    JSON.parse(eventText);
  } catch (err) {
    throw new ApiError(400, "InvalidRequestContentException", `Could not parse request body into json: ${(err as Error).message}`);
  }
  if (fn.config.State === "Inactive") {
    // An invocation of an Inactive function fails, and sets it Pending until its resources are back.
    const state = fn.config.State;
    wake(emu, fn);
    throw new ApiError(409, "ResourceConflictException", `The operation cannot be performed at this time. The function is currently in the following state: ${state}`);
  }
  if (fn.config.State !== "Active" || !fn.live) {
    throw new ApiError(409, "ResourceConflictException", `The operation cannot be performed at this time. The function is currently in the following state: ${fn.config.State}`);
  }
  const type = req.headers["x-amz-invocation-type"] ?? "RequestResponse";
  if (type === "DryRun") return void res.writeHead(204).end();
  const broken = takeFault(emu, fn.name, ["server"]);
  if (broken) throw new ApiError(broken.status ?? 500, broken.type ?? "ServiceException", broken.message ?? "The service encountered an internal error.");
  const throttled = takeFault(emu, fn.name, ["throttle"]);
  if (throttled) throw throttle(emu.stats, throttled.reason ?? "ConcurrentInvocationLimitExceeded", throttled.retryAfterSeconds);
  if (fn.reserved !== undefined && fn.inFlight >= fn.reserved) throw throttle(emu.stats, "ReservedFunctionConcurrentInvocationLimitExceeded");
  const fault = takeFault(emu, fn.name, ["error", "timeout", "crash", "oom"]);
  const inject = fault && injectOf(fault);
  if (type === "Event") {
    // Asynchronous invocation: accepted at once, run in the background, its outcome discarded.
    res.writeHead(202, { "content-length": "0" }).end();
    execute(emu, fn, eventText, requestId, inject).catch(() => {});
    return;
  }
  const out = await execute(emu, fn, eventText, requestId, inject);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-amz-executed-version": "$LATEST",
    ...(out.functionError ? { "x-amz-function-error": out.functionError } : {}),
  };
  if (req.headers["x-amz-log-type"] === "Tail") {
    const bytes = Buffer.from(out.log, "utf8");
    headers["x-amz-log-result"] = bytes.subarray(Math.max(0, bytes.length - LOG_TAIL_BYTES)).toString("base64");
  }
  res.writeHead(out.status, headers).end(out.body);
}
