// The controller's and invoker's words: the activation statuses and the messages of its answers and records, worded
// as the platform words them (clients match on some of them), each with where apache/openwhisk says it.
import type { ActivationStatus } from "./options.js";

/** `response.status` by `response.statusCode`, as the platform words them. */
export const STATUS: readonly ActivationStatus[] = ["success", "application error", "action developer error", "whisk internal error"];
export const SUCCESS = 0;
export const APPLICATION_ERROR = 1;
export const DEVELOPER_ERROR = 2;
export const WHISK_ERROR = 3;

// The controller's and invoker's messages, worded as the platform words them (clients match on some of them).
export const msg = {
  unauthenticated: "The supplied authentication is invalid.",
  notAuthorized: (ns: string) => `The supplied authentication is not authorized to access '${ns}'.`,
  notFound: "The requested resource does not exist.",
  exists: "resource already exists",
  // The throttles' texts, from apache/openwhisk at commit 1fae641a (common/scala/src/main/scala/org/apache/openwhisk/
  // http/ErrorResponse.scala, Messages). The legacy controller (LocalEntitlementProvider, ActivationThrottler.scala
  // :60/:66) answers 429 with the counted forms; the FPC controller's concurrency check (FPCEntitlement.scala:72)
  // answers 429 "Too many requests"; the FPC scheduler's MemoryQueue (MemoryQueue.scala:248/:290/:306) does not
  // answer 429 at all: it records the activation as failed (developer error, or whisk error when
  // fail-throttle-as-whisk-error is set) with the uncounted form, duration 0 and no waitTime (generateFallbackActivation).
  tooManyRequests: (count: number, allowed: number) => `Too many requests in the last minute (count: ${count}, allowed: ${allowed}).`,
  tooManyConcurrent: (count: number, allowed: number) => `Too many concurrent requests in flight (count: ${count}, allowed: ${allowed}).`,
  tooManyRequestsFpc: "Too many requests",
  tooManyConcurrentQueue: "Too many concurrent requests in flight.",
  overloaded: "System is overloaded, try again later.",
  tooBig: (field: string, size: number, limit: number) => `${field} larger than allowed: ${size} > ${limit} bytes.`,
  malformed: (why: string) => `The request content was malformed:\n${why}`,
  // Pekko HTTP's default rejection handler (RejectionHandler.default, MalformedQueryParamRejection), which the
  // controller wraps as {error, code} (BasicHttpService.customRejectionHandler).
  malformedQuery: (name: string, why: string) => `The query parameter '${name}' was malformed:\n${why}`,
  // Messages.invalidTimeout (common/scala/src/main/scala/org/apache/openwhisk/http/ErrorResponse.scala).
  invalidTimeout: (maxMs: number) => `Timeout must be number of milliseconds up to ${maxMs}.`,
  abnormalInit: "The action did not initialize and exited unexpectedly.",
  abnormalRun: "The action did not produce a valid response and exited unexpectedly.",
  // Messages.memoryExhausted (ErrorResponse.scala:156): recorded as a developer error when the invoker finds the
  // container OOM-killed (ActivationResult.scala:185 during init, :251 during a run).
  memoryExhausted: "The action exhausted its memory and was aborted.",
  invalidInit: (text: string) => `The action failed during initialization${text ? `: ${text}` : "."}`,
  invalidRun: (text: string) => `The action did not produce a valid JSON response${text ? `: ${text}` : "."}`,
  truncated: (size: number, limit: number) => `The action produced a response that exceeded the allowed length: ${size} > ${limit} bytes.`,
  timedOut: (ms: number, init: boolean) => `The action exceeded its time limits of ${ms} milliseconds${init ? " during initialization." : "."}`,
  removed: "Action could not be found or may have been deleted.",
  unsupportedKind: (kind: unknown, valid: string[]) => `The specified runtime '${kind}' is not supported by this platform. Valid values are: ${valid.map((k) => `'${k}'`).join(", ")}.`,
  concurrencyRange: (v: unknown, r: { min: number; max: number }) => `concurrency ${v} out of [${r.min}, ${r.max}]`,
  concurrencyAbove: (v: unknown, max: number) => `concurrency ${v} exceeds allowed threshold of ${max}`,
  concurrencyBelow: (v: unknown, min: number) => `concurrency ${v} below allowed threshold of ${min}`,
};

/** An OpenShift route's (HAProxy's) page for a response it cut at its timeout. */
export const GATEWAY_TIMEOUT_PAGE = "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n";
