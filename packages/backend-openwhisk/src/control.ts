// Calls to the controller that are not invocations (the info document, deploy, list, delete): each with its
// deadline, ended at once by the run's signal, and the one error line for an endpoint that is not a controller.
import { STATUS_CODES } from "node:http";
import { describeAnswer, SuperfaasError } from "@superfaas/core";
import type { HttpAnswer, Transport } from "./transport.js";

/** Longest text quoted from the platform in one error line. */
const QUOTE_LIMIT = 300;

/** Platform text cut to a readable length, saying how much was left out. */
export function quote(text: string, limit = QUOTE_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length - limit} more characters)`;
}

export const configError = (message: string, hint: string, cause?: unknown) => new SuperfaasError("BACKEND_CONFIG", `openwhisk: ${message}`, hint, cause === undefined ? undefined : { cause });

/** A deadline for one control-plane call, that the run's own signal (Ctrl-C) also ends. */
const deadline = (ms: number, signal: AbortSignal | undefined) => (signal ? AbortSignal.any([signal, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms));

export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });

/** The transport to the controller and the control-plane deadline (--request-timeout). */
export interface Controller {
  readonly transport: Transport;
  readonly requestTimeoutMs: number;
}

/** One call to the controller that is not an invocation: with its deadline, ended at once by the run's signal. */
export async function control(
  { transport, requestTimeoutMs }: Controller,
  method: "GET" | "GET without credentials" | "PUT" | "DELETE",
  path: string,
  body: string | null,
  signal: AbortSignal | undefined,
  doing: string,
  extraMs = 0,
): Promise<HttpAnswer> {
  const ms = requestTimeoutMs + extraMs;
  const s = deadline(ms, signal);
  try {
    return await (method === "GET" ? transport.get(path, s) : method === "GET without credentials" ? transport.getPublic(path, s) : method === "PUT" ? transport.put(path, body!, s) : transport.delete(path, s));
  } catch (err) {
    if (signal?.aborted) {
      throw signal.reason instanceof SuperfaasError ? signal.reason : new SuperfaasError("CANCELLED", `run cancelled while ${doing}`, "nothing ran; run again to get a result", { cause: signal.reason });
    }
    if (s.aborted || (err as { code?: string })?.code === "UND_ERR_HEADERS_TIMEOUT") {
      throw configError(
        `${transport.url(path)} accepted the connection but did not answer within ${ms / 1000} s while ${doing}`,
        "check --apihost (a firewall or a proxy that swallows requests looks like this); --request-timeout sets this bound",
        err,
      );
    }
    const e = err as Error & { code?: string };
    throw configError(`cannot reach ${transport.url(path)} while ${doing}: ${e?.message || e?.code || String(e)}`, "check --apihost (and --insecure for self-signed certificates)", err);
  }
}

/** An answer that no OpenWhisk controller gives: an HTML page, or JSON of another shape. */
export function notController(url: string, doing: string, answer: HttpAnswer): SuperfaasError {
  // A page or text is named as every client names it (core's describeAnswer: its title or first words, its status).
  const what = typeof answer.body === "string" ? describeAnswer({ status: answer.status, body: answer.body }) : `JSON of another shape (${quote(JSON.stringify(answer.body), 80)}) (HTTP ${answer.status})`;
  return configError(
    `${url} answered ${doing} with ${what}, not the controller's JSON: it is not an OpenWhisk API host`,
    "point --apihost at the controller's route (what `wsk property get --apihost` shows), not at a web page or a login proxy",
  );
}

/** The controller's JSON `error`, or the status's name (a proxy's HTML page is not quoted). */
export function said(answer: HttpAnswer): string {
  const e = answer.body && typeof answer.body === "object" ? (answer.body as { error?: unknown }).error : undefined;
  return typeof e === "string" ? e : (STATUS_CODES[answer.status] ?? `HTTP ${answer.status}`);
}
