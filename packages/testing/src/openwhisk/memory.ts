// The memory watch: each container's resident memory against its action's memory limit, as a cgroup enforces it.
import { readFileSync } from "node:fs";
import type { Emulator } from "./model.js";

/**
 * Enforces each container's memory limit as its cgroup would: a container whose processes' resident memory goes over
 * the action's memory is killed (SIGKILL), and its activations are recorded as the invoker records an OOM kill. One
 * sweeping timer for all containers, running only while there are any. Linux only (it reads /proc); elsewhere the
 * heap limit each container's Node.js gets is the only bound.
 */
export function watchMemory(emu: Emulator): void {
  if (emu.memoryTimer || process.platform !== "linux") return;
  emu.memoryTimer = setInterval(() => {
    const live = emu.live();
    if (live.length === 0 || emu.closed) {
      clearInterval(emu.memoryTimer);
      emu.memoryTimer = undefined;
      return;
    }
    for (const c of live) {
      // Only a process still running: once it has exited, its pid may belong to another process.
      if (c.state === "dead" || !c.child || c.child.exitCode !== null || c.child.signalCode !== null) continue;
      const rssMb = residentMb(c.child.pid);
      if (rssMb !== undefined && rssMb > c.memoryMb) emu.killForMemory(c);
    }
  }, emu.options.memoryCheckMs);
  emu.memoryTimer.unref?.();
}

/** Resident memory of a process in MB (VmRSS), or undefined when it cannot be read (gone, or not Linux). */
function residentMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}
