// What the tests of the real `superfaas` process share: spawning dist/bin.js and collecting what it says.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The built CLI; tests of the real process skip, saying why, when it is missing. */
export const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
export const built = existsSync(bin);
export const notBuilt = built ? "" : " (skipped: packages/cli/dist is not built; `npm test` builds it)";

/** Sees the stderr text so far, to act (send a signal) at a moment. */
export type OnStderr = (text: string, child: ChildProcess) => void;

/** Runs `superfaas ARGS` as its own process; `onStderr` sees the stderr text so far (to send signals at a moment). */
export function superfaas(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number; cwd?: string; onStderr?: OnStderr; onStart?: (child: ChildProcess) => void } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const spawnOpts: SpawnOptions = { stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env };
    if (opts.uid !== undefined) spawnOpts.uid = opts.uid;
    if (opts.gid !== undefined) spawnOpts.gid = opts.gid;
    if (opts.cwd !== undefined) spawnOpts.cwd = opts.cwd;
    const child = spawn(process.execPath, [bin, ...args], spawnOpts);
    opts.onStart?.(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => {
      stderr += d;
      opts.onStderr?.(stderr, child);
    });
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The lines of `text` that are error lines (`error[CODE]: ...`). */
export const errorLines = (text: string) => text.split("\n").filter((l) => l.startsWith("error["));

/** The unprivileged user tests run the CLI as, to see what a second user (or a non-root one) meets. */
export const NOBODY = 65534;

/** Whether this process may start the CLI as `uid` (root only) and that user can read the built CLI. */
export function canRunAs(uid: number): boolean {
  if (!built || process.getuid?.() !== 0) return false;
  return spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(bin)}, 4)`], { uid, gid: uid }).status === 0;
}

/**
 * An `onStart` that sends `signal` to the CLI once `ready()` holds (polled every 20 ms while the CLI runs); `sent`
 * tells afterwards whether it was sent.
 */
export function signalWhen(ready: () => boolean, signal: NodeJS.Signals = "SIGTERM") {
  const state = {
    sent: false,
    onStart(child: ChildProcess) {
      const poll = setInterval(() => {
        if (!ready()) return;
        clearInterval(poll);
        state.sent = true;
        child.kill(signal);
      }, 20);
      child.on("exit", () => clearInterval(poll));
    },
  };
  return state;
}
