/** What Lambda's `REPORT` log line says about one invocation. */
export interface LambdaReport {
  requestId?: string;
  durationMs: number;
  billedMs: number;
  memorySizeMb?: number;
  maxMemoryUsedMb?: number;
  /** Present only when the invocation paid for a new execution environment. */
  initMs?: number;
  /** "timeout" or "error" when the platform ended the invocation (Sandbox.Timedout, Runtime.ExitError...). */
  status?: string;
  errorType?: string;
}

/** Decodes `X-Amz-Log-Result` (base64 of the last 4 KB of the invocation's log). */
export function decodeLogResult(logResult: string | undefined): string {
  return logResult ? Buffer.from(logResult, "base64").toString("utf8") : "";
}

const number = (line: string, re: RegExp): number | undefined => {
  const m = re.exec(line);
  return m ? Number(m[1]) : undefined;
};

/**
 * Parses the last `REPORT RequestId: … Duration: … ms Billed Duration: … ms Memory Size: … MB Max Memory Used: … MB
 * [Init Duration: … ms]` line of a log tail; fields are tab-separated on Lambda but spaces are accepted too.
 * Returns undefined when the tail has no such line (logs disabled, or a tail cut before it).
 */
export function parseReportLine(log: string): LambdaReport | undefined {
  const at = log.lastIndexOf("REPORT RequestId:");
  if (at < 0) return undefined;
  const end = log.indexOf("\n", at);
  const line = log.slice(at, end < 0 ? undefined : end);
  // "Duration" alone, not the tail of "Billed Duration", "Init Duration" or "Restore Duration".
  const durationMs = number(line, /(?<!(?:Billed|Init|Restore) )Duration:\s*([\d.]+)\s*ms/);
  if (durationMs === undefined) return undefined;
  const billedMs = number(line, /Billed Duration:\s*([\d.]+)\s*ms/) ?? Math.ceil(durationMs);
  const report: LambdaReport = { durationMs, billedMs };
  const requestId = /RequestId:\s*([\w-]+)/.exec(line)?.[1];
  if (requestId) report.requestId = requestId;
  const memorySizeMb = number(line, /Memory Size:\s*(\d+)\s*MB/);
  if (memorySizeMb !== undefined) report.memorySizeMb = memorySizeMb;
  const maxMemoryUsedMb = number(line, /Max Memory Used:\s*(\d+)\s*MB/);
  if (maxMemoryUsedMb !== undefined) report.maxMemoryUsedMb = maxMemoryUsedMb;
  const initMs = number(line, /Init Duration:\s*([\d.]+)\s*ms/);
  if (initMs !== undefined) report.initMs = initMs;
  const status = /Status:\s*(\w+)/.exec(line)?.[1];
  if (status) report.status = status;
  const errorType = /Error Type:\s*([\w.]+)/.exec(line)?.[1];
  if (errorType) report.errorType = errorType;
  return report;
}
