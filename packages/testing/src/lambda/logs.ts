// Logs: the log an invocation writes (INIT_START, START, the function's lines, END and the REPORT line that bills
// it; one JSON record a line with LoggingConfig.LogFormat = JSON), the log groups it goes to, and the part of the
// CloudWatch Logs API (JSON 1.1, POST / with X-Amz-Target) that log groups of functions need.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "./api-error.js";
import type { Emulator, Live, LogGroup } from "./model.js";
import { CONTROL_BODY_LIMIT, RETENTION_DAYS } from "./profile.js";
import type { SignatureVerifier } from "./sigv4.js";
import { count, readJson, readSigned } from "./wire.js";

/** A function's log group, created by its first log write (as its role does) when missing. */
export function ensureLogGroup(emu: Emulator, name: string): LogGroup {
  let group = emu.logGroups.get(name);
  if (!group) emu.logGroups.set(name, (group = { logGroupName: name, creationTime: Date.now(), storedBytes: 0, createdBy: "function" }));
  return group;
}

/** What one invocation's log holds besides what the function printed. */
export interface InvocationRecord {
  requestId: string;
  cold: boolean;
  initMs: number;
  durationMs: number;
  billedMs: number;
  maxMemoryMb: number;
  /** The REPORT line's status fields ("Status: timeout\t", ...), empty on success. */
  reportStatus: string;
  /** The function's own output. */
  logs: string;
  /** The platform's lines about errors and timeouts. */
  lines: string[];
}

/** The invocation's log, in the function's log format. */
export function invocationLog(emu: Emulator, live: Live, r: InvocationRecord): string {
  const { requestId, cold, initMs, durationMs, billedMs, maxMemoryMb, reportStatus, logs, lines } = r;
  if (live.logFormat === "JSON") {
    // LoggingConfig.LogFormat = JSON: every platform record is a JSON object of its own line.
    const rec = (type: string, record: unknown) => `${JSON.stringify({ time: new Date().toISOString(), type, record })}\n`;
    const status = reportStatus ? (/timeout/.test(reportStatus) ? "timeout" : "error") : "success";
    const errorType = /Error Type: ([\w.]+)/.exec(reportStatus)?.[1];
    return (
      (cold ? rec("platform.initStart", { initializationType: "on-demand", phase: "init", runtimeVersion: `${live.runtime.replace(".x", "")}.emulated` }) : "") +
      rec("platform.start", { requestId, version: "$LATEST" }) +
      logs +
      lines.map((l) => `${JSON.stringify({ timestamp: new Date().toISOString(), level: "ERROR", requestId, message: l.trimEnd() })}\n`).join("") +
      rec("platform.report", {
        requestId,
        metrics: {
          durationMs: Number(durationMs.toFixed(2)),
          billedDurationMs: billedMs,
          memorySizeMB: live.memorySize,
          maxMemoryUsedMB: maxMemoryMb,
          ...(cold ? { initDurationMs: Number(initMs.toFixed(2)) } : {}),
        },
        status,
        ...(errorType ? { errorType } : {}),
      })
    );
  }
  return (
    (cold ? `INIT_START Runtime Version: ${live.runtime.replace(".x", "")}.emulated\tRuntime Version ARN: arn:aws:lambda:${emu.region}::runtime:emulated\n` : "") +
    `START RequestId: ${requestId} Version: $LATEST\n` +
    logs +
    lines.join("") +
    `END RequestId: ${requestId}\n` +
    `REPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${billedMs} ms\tMemory Size: ${live.memorySize} MB\t` +
    `Max Memory Used: ${maxMemoryMb} MB\t${cold ? `Init Duration: ${initMs.toFixed(2)} ms\t` : ""}${reportStatus}\n`
  );
}

/** The log groups as DescribeLogGroups and the emulator's handle show them (without who created them). */
export const shownGroup = ({ createdBy: _c, ...g }: LogGroup): Omit<LogGroup, "createdBy"> => ({ ...g });

interface LogsRequest {
  logGroupName?: unknown;
  logGroupNamePrefix?: string;
  retentionInDays?: unknown;
}

/** One CloudWatch Logs call (`target`: its X-Amz-Target). */
export async function logsApi(emu: Emulator, verify: SignatureVerifier, req: IncomingMessage, res: ServerResponse, target: string): Promise<void> {
  const buf = await readSigned(emu, req, CONTROL_BODY_LIMIT, verify, () => new ApiError(413, "RequestEntityTooLargeException", "Request too large"));
  const op = target.slice("Logs_20140328.".length);
  count(emu, op);
  const body = readJson<LogsRequest>(buf);
  const name = body.logGroupName as string;
  const missing = () => new ApiError(400, "ResourceNotFoundException", "The specified log group does not exist.");
  const out = (value: unknown) => {
    const text = JSON.stringify(value);
    res.writeHead(200, { "content-type": "application/x-amz-json-1.1", "content-length": Buffer.byteLength(text) }).end(text);
  };
  if (op === "CreateLogGroup") {
    if (typeof name !== "string" || !/^[\w\-./#]{1,512}$/.test(name)) throw new ApiError(400, "InvalidParameterException", `1 validation error detected: Value '${name}' at 'logGroupName' failed to satisfy constraint`);
    if (emu.logGroups.has(name)) throw new ApiError(400, "ResourceAlreadyExistsException", "The specified log group already exists");
    emu.logGroups.set(name, { logGroupName: name, creationTime: Date.now(), storedBytes: 0, createdBy: "api" });
    return out({});
  }
  if (op === "PutRetentionPolicy") {
    const group = emu.logGroups.get(name);
    if (!group) throw missing();
    if (!RETENTION_DAYS.includes(body.retentionInDays as number)) {
      throw new ApiError(400, "InvalidParameterException", `1 validation error detected: Value '${body.retentionInDays}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(", ")}]`);
    }
    group.retentionInDays = body.retentionInDays as number;
    return out({});
  }
  if (op === "DeleteRetentionPolicy") {
    const group = emu.logGroups.get(name);
    if (!group) throw missing();
    delete group.retentionInDays;
    return out({});
  }
  if (op === "DeleteLogGroup") {
    if (!emu.logGroups.delete(name)) throw missing();
    return out({});
  }
  if (op === "DescribeLogGroups") {
    const prefix = body.logGroupNamePrefix ?? "";
    const groups = [...emu.logGroups.values()]
      .filter((g) => g.logGroupName.startsWith(prefix))
      .map((g) => ({ ...shownGroup(g), arn: `arn:aws:logs:${emu.region}:${emu.accountId}:log-group:${g.logGroupName}:*` }));
    return out({ logGroups: groups });
  }
  throw new ApiError(400, "UnknownOperationException", `Unknown operation ${target}`);
}
