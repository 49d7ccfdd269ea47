// A run: /run sent to a container with the activation's parameters and context, under the action's time limit; the
// injected crashes and stragglers; the logs read up to the end markers; and the invoker's reading of the answer
// (a result, {error}, an invalid or truncated response, a timeout, a container that died).
import { request as httpRequest } from "node:http";
import { APPLICATION_ERROR, DEVELOPER_ERROR, msg, SUCCESS } from "./messages.js";
import type { Activation, Container, Emulator, Outcome } from "./model.js";
import { hex, parseObject } from "./util.js";

/** The runtime writes this line to stdout and stderr after each activation; the logs of one end there. */
export const MARKER = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

/** A container's answer: its status and body, the body kept up to the result limit. */
export interface Answer {
  status: number;
  text: string;
  size: number;
  truncated: boolean;
}

export async function run(emu: Emulator, c: Container, act: Activation, cold: { start?: number; waitTime?: number; initTime?: number }): Promise<void> {
  const action = act.action;
  c.running.add(act);
  c.lastUsed = Date.now();
  const runNumber = ++c.runs;
  const collectsLogs = action.limits.concurrency === 1;
  if (collectsLogs) c.logTarget = act;
  const start = cold.start ?? Date.now();
  const waitTime = cold.waitTime ?? start - act.acceptedAt;
  const timeout = action.limits.timeout;
  let timedOut = false;
  const timer = emu.later(timeout, () => {
    timedOut = true;
    emu.kill(c, "action timed out");
  });
  let answer: Answer | undefined;
  const ranFrom = Date.now();
  try {
    answer = await post(
      emu,
      c,
      "/run",
      {
        value: act.params,
        namespace: act.ns,
        action_name: `/${act.ns}/${action.name}`,
        action_version: action.version,
        activation_id: act.id,
        transaction_id: hex(16),
        deadline: String(start + timeout),
      },
      act.crashAfterMs !== undefined ? () => emu.later(act.crashAfterMs!, () => (act.memoryKill ? emu.killForMemory(c) : emu.kill(c, "injected crash"))) : undefined,
    );
    if (act.slowBy && answer) {
      // A slow container: the action has answered, and the container holds the answer back (factor − 1) times its
      // run time, busy all the while and under the action's time limit, which may end it first.
      emu.stats.straggled++;
      const holdMs = Math.min((act.slowBy - 1) * (Date.now() - ranFrom), start + timeout - Date.now() + 5);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          emu.timers.delete(t);
          resolve();
        }, Math.max(0, holdMs));
        emu.timers.add(t);
      });
    }
  } catch {
    answer = undefined;
  } finally {
    clearTimeout(timer);
    emu.timers.delete(timer);
    c.running.delete(act);
    c.lastUsed = Date.now();
  }
  const end = Date.now();
  if (act.crashAfterMs !== undefined) answer = undefined; // whatever it said, the container died under it
  // The invoker reads the activation's logs up to the runtime's end markers before it records the activation.
  if (answer && collectsLogs) await markers(emu, c, runNumber);
  if (c.logTarget === act) c.logTarget = undefined;
  const times = { start, end, waitTime, ...(cold.initTime !== undefined ? { initTime: cold.initTime } : {}) };
  if (timedOut) emu.complete(act, { statusCode: DEVELOPER_ERROR, result: { error: msg.timedOut(timeout, false) } }, { ...times, timedOut: true });
  else if (!answer) emu.complete(act, { statusCode: DEVELOPER_ERROR, result: { error: c.memoryKilled ? msg.memoryExhausted : msg.abnormalRun } }, times);
  else emu.complete(act, interpretRun(answer, emu.limits.maxResultBytes), times);
  if (c.retiring && c.running.size === 0) emu.kill(c, c.retiring);
  emu.pump();
}

/** Resolves once both streams carry `n` end markers, the container is gone, or 1 s passed. */
function markers(emu: Emulator, c: Container, n: number): Promise<void> {
  const seen = () => c.state === "dead" || (c.marks.stdout >= n && c.marks.stderr >= n);
  if (seen()) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      if (!seen() && !timedOut) return;
      clearTimeout(t);
      emu.timers.delete(t);
      c.markWaiters.delete(done);
      resolve();
    };
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      done();
    }, 1_000);
    emu.timers.add(t);
    c.markWaiters.add(done);
  });
}

/** POSTs JSON to a container; resolves {status, text, size, truncated}, rejects when the container dies. */
export function post(emu: Emulator, c: Container, path: string, body: unknown, onSent?: () => void): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    if (c.state === "dead") return reject(new Error("container is gone"));
    const payload = JSON.stringify(body);
    const limit = emu.limits.maxResultBytes;
    const req = httpRequest(
      { host: "127.0.0.1", port: c.port, path, method: "POST", agent: emu.childAgent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= limit) chunks.push(chunk);
        });
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("container closed the response")));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, size, truncated: size > limit, text: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end(payload, onSent);
  });
}

/** How the invoker reads a container's answer to /run (200 + object, {error}, non-200, truncated). */
function interpretRun(answer: Answer, limit: number): Outcome {
  if (answer.truncated) {
    // The invoker quotes the response it read, up to the limit: a message of about 1 MB.
    const excerpt = answer.text;
    return { statusCode: APPLICATION_ERROR, result: { error: `${msg.truncated(answer.size, limit)} The truncated response was: ${excerpt}` }, size: answer.size };
  }
  const parsed = parseObject(answer.text);
  if (!parsed) return { statusCode: DEVELOPER_ERROR, result: { error: msg.invalidRun(answer.text) }, size: answer.size };
  if (answer.status === 200) {
    return "error" in parsed
      ? { statusCode: APPLICATION_ERROR, result: { error: parsed.error }, size: answer.size }
      : { statusCode: SUCCESS, result: parsed, size: answer.size };
  }
  return { statusCode: DEVELOPER_ERROR, result: { error: "error" in parsed ? parsed.error : msg.invalidRun(answer.text) }, size: answer.size };
}
