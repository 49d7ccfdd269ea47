// A container's life: its child process started (proxy.js, with the action's memory as its heap limit and the kind's
// Node.js major), its output read into the activation's logs up to the runtime's end markers, its exit, and /init
// with the action's code (timed by the action's time limit), after which the activations waiting for it run.
import { fork } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { watchMemory } from "./memory.js";
import { DEVELOPER_ERROR, msg } from "./messages.js";
import type { Action, Activation, Container, Emulator, Invoker, Times } from "./model.js";
import { type Answer, MARKER, post, run } from "./run.js";
import { hex, parseObject } from "./util.js";

// Containers run the built JS (Node.js 20 runs no TypeScript): src/openwhisk/ and dist/openwhisk/ are both two levels
// under the package, so from either this finds the package's dist/.
const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The container's program. */
const PROXY = join(packageDir, "dist", "openwhisk", "proxy.js");

export function startContainer(emu: Emulator, invoker: Invoker, action: Action, first: Activation): void {
  const dir = join(emu.root, `c-${hex(6)}`);
  mkdirSync(dir);
  const c: Container = {
    id: hex(6),
    invoker,
    key: `${action.namespace}/${action.name}`,
    version: action.version,
    state: "starting",
    running: new Set(),
    backlog: [],
    lastUsed: Date.now(),
    dir,
    port: 0,
    child: undefined,
    runs: 0,
    marks: { stdout: 0, stderr: 0 },
    markWaiters: new Set(),
    logTarget: undefined,
    memoryMb: action.limits.memory,
    memoryKilled: false,
  };
  invoker.containers.add(c);
  emu.stats.containersStarted++;
  emu.stats.peakContainers = Math.max(emu.stats.peakContainers, emu.live().length);
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    TMPDIR: dir,
    // The AWS SDK nags about Node versions on stderr; that noise would only fill the activation logs.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    // Set on the invokers by an operator who allows concurrent activations per container; without it the Node.js
    // proxy refuses a second simultaneous /run with 403 "System not ready".
    ...(emu.options.allowConcurrent ? { __OW_ALLOW_CONCURRENT: "true" } : {}),
  };
  // The kind's Node.js major version: the proxy takes away the globals that version lacks (fetch before 18...).
  const major = /^nodejs:(\d+)$/.exec(action.exec.kind)?.[1] ?? "20";
  const child = fork(PROXY, [dir, major], {
    // A container's memory limit, approximated by the heap limit of its Node.js.
    execArgv: [`--max-old-space-size=${action.limits.memory}`],
    env,
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    serialization: "json",
  });
  c.child = child;
  watchMemory(emu);
  const partial = { stdout: "", stderr: "" };
  const collect = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
    const text = partial[stream] + String(chunk);
    const lines = text.split("\n");
    partial[stream] = lines.pop() ?? "";
    for (const line of lines) {
      if (line === MARKER) {
        c.marks[stream]++;
        for (const w of [...c.markWaiters]) w();
        continue;
      }
      if (emu.options.log) process.stderr.write(`[ow ${c.id} ${stream}] ${line}\n`);
      // Logs belong to an activation only when one runs at a time in the container (concurrency 1), as on the platform.
      const act = c.logTarget;
      if (act && act.logs.length < 1000) act.logs.push(`${new Date().toISOString()} ${stream}: ${line}`);
    }
  };
  child.stdout!.on("data", collect("stdout"));
  child.stderr!.on("data", collect("stderr"));
  const ready = new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("container did not start")), emu.options.containerStartTimeoutMs);
    child.once("message", (m: { port?: unknown } | undefined) => {
      clearTimeout(t);
      if (m && typeof m.port === "number") resolve(m.port);
      else reject(new Error("container sent no port"));
    });
    child.once("exit", () => {
      clearTimeout(t);
      reject(new Error("container exited"));
    });
  });
  c.exited = new Promise((resolve) => child.once("exit", resolve));
  child.once("exit", () => {
    c.state = "dead";
    if (c.invoker.containers.delete(c)) emu.stats.containersKilled++;
    rmSync(c.dir, { recursive: true, force: true });
    emu.pump();
  });
  child.on("error", () => undefined);
  ready.catch(() => undefined);
  void initialize(emu, c, action, first, ready).catch((err) => emu.internalError(err));
}

async function initialize(emu: Emulator, c: Container, action: Action, first: Activation, ready: Promise<number>): Promise<void> {
  const waitTime = Date.now() - first.acceptedAt;
  const start = Date.now();
  let port: number;
  try {
    port = await ready;
  } catch {
    fail(emu, [first, ...c.backlog.splice(0)], DEVELOPER_ERROR, msg.abnormalInit, { start, waitTime });
    emu.kill(c, "did not start");
    return;
  }
  c.port = port;
  emu.stats.coldStarts++;
  const initStart = Date.now();
  let timedOut = false;
  const timer = emu.later(action.limits.timeout, () => {
    timedOut = true;
    emu.kill(c, "init timed out");
  });
  let answer: Answer | undefined;
  try {
    answer = await post(emu, c, "/init", {
      value: {
        name: action.name,
        main: action.exec.main ?? "main",
        code: action.exec.code,
        binary: action.exec.binary,
        env: {
          __OW_API_HOST: emu.url,
          __OW_NAMESPACE: action.namespace,
          __OW_ACTION_NAME: `/${action.namespace}/${action.name}`,
          __OW_ACTION_VERSION: action.version,
        },
      },
    });
  } catch {
    answer = undefined;
  } finally {
    clearTimeout(timer);
    emu.timers.delete(timer);
  }
  const initTime = Date.now() - initStart;
  const everyone = [first, ...c.backlog.splice(0)];
  if (answer?.status !== 200) {
    let error: unknown;
    if (timedOut) error = msg.timedOut(action.limits.timeout, true);
    else if (c.memoryKilled) error = msg.memoryExhausted;
    else if (!answer) error = msg.abnormalInit;
    else {
      const parsed = parseObject(answer.text);
      error = parsed && "error" in parsed ? parsed.error : msg.invalidInit(answer.text);
    }
    fail(emu, everyone, DEVELOPER_ERROR, error, { start, waitTime, initTime, timedOut });
    emu.kill(c, "init failed");
    return;
  }
  if (c.state === "dead") {
    fail(emu, everyone, DEVELOPER_ERROR, c.memoryKilled ? msg.memoryExhausted : msg.abnormalInit, { start, waitTime, initTime });
    return;
  }
  c.state = "ready";
  for (const act of everyone) void run(emu, c, act, { start, waitTime, initTime }).catch((err) => emu.internalError(err));
}

function fail(emu: Emulator, acts: Activation[], code: number, error: unknown, times: Omit<Times, "start" | "end"> & { start?: number }): void {
  const end = Date.now();
  for (const act of acts) emu.complete(act, { statusCode: code, result: { error } }, { end, ...times, start: times.start ?? end });
}
