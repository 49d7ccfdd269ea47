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
 * Parses the last REPORT record of a log tail, in either of Lambda's log formats: the JSON record (see
 * `parseJsonReport`) or the text line `REPORT RequestId: … Duration: … ms Billed Duration: … ms Memory Size: … MB Max Memory Used: … MB
 * [Init Duration: … ms]` line of a log tail; fields are tab-separated on Lambda but spaces are accepted too.
 * Returns undefined when the tail has no such line (logs disabled, or a tail cut before it).
 */
export function parseReportLine(log: string): LambdaReport | undefined {
  const at = log.lastIndexOf("REPORT RequestId:");
  const atJson = log.lastIndexOf('"platform.report"');
  if (atJson > at) return parseJsonReport(log, atJson);
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

/**
 * The REPORT record of a function that logs in JSON (`LoggingConfig.LogFormat = JSON`): one line
 * `{"time":…,"type":"platform.report","record":{"requestId":…,"metrics":{"durationMs":…,"billedDurationMs":…,
 * "memorySizeMB":…,"maxMemoryUsedMB":…,"initDurationMs":…},"status":"success"|"error"|"timeout","errorType":…}}`.
 */
function parseJsonReport(log: string, at: number): LambdaReport | undefined {
  const start = log.lastIndexOf("\n", at) + 1;
  const end = log.indexOf("\n", at);
  let rec: { type?: unknown; record?: { requestId?: unknown; metrics?: Record<string, unknown>; status?: unknown; errorType?: unknown } };
  try {
    rec = JSON.parse(log.slice(start, end < 0 ? undefined : end)) as typeof rec;
  } catch {
    return undefined; // cut by the 4 KB tail, or not a record
  }
  const r = rec.record;
  const m = r?.metrics;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const durationMs = num(m?.durationMs);
  if (rec.type !== "platform.report" || durationMs === undefined) return undefined;
  const report: LambdaReport = { durationMs, billedMs: num(m?.billedDurationMs) ?? Math.ceil(durationMs) };
  if (typeof r?.requestId === "string") report.requestId = r.requestId;
  const memorySizeMb = num(m?.memorySizeMB);
  if (memorySizeMb !== undefined) report.memorySizeMb = memorySizeMb;
  const maxMemoryUsedMb = num(m?.maxMemoryUsedMB);
  if (maxMemoryUsedMb !== undefined) report.maxMemoryUsedMb = maxMemoryUsedMb;
  const initMs = num(m?.initDurationMs);
  if (initMs !== undefined) report.initMs = initMs;
  if (typeof r?.status === "string" && r.status !== "success") report.status = r.status;
  if (typeof r?.errorType === "string") report.errorType = r.errorType;
  return report;
}
