// Lambda's error answers: an HTTP status, an error type (X-Amzn-ErrorType) and a message, plus the fields and headers
// some of them carry. The HTTP front end (http.ts) writes them.
import type { LambdaEmulatorStats } from "./options.js";

/** An error the API answers with. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A request field that failed the API model's constraint: ValidationException, in Lambda's words. */
export const validation = (field: string, value: unknown, constraint: string): ApiError =>
  new ApiError(400, "ValidationException", `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`);

/** 429 TooManyRequestsException with its Reason (and Retry-After when given), counted. */
export function throttle(stats: LambdaEmulatorStats, reason: string, retryAfterSeconds?: number): ApiError {
  stats.throttled++;
  return new ApiError(429, "TooManyRequestsException", "Rate Exceeded.", { Reason: reason }, retryAfterSeconds !== undefined ? { "Retry-After": String(retryAfterSeconds) } : {});
}
