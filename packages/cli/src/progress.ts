import cliProgress from "cli-progress";
import type { ProgressEvent } from "@superfaas/core";

/** Shows a run's progress: a live bar on a terminal, a plain line per 10% otherwise. Writes to stderr. */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): { update(e: ProgressEvent): void; stop(): void } {
  let retries = 0;
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} {bar} {percentage}% | {value}/{total} tasks | {inFlight} in flight | {retries} retries | {elapsed}s | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(e) {
        if (e.type === "retrying") retries++;
        const payload = { inFlight: e.inFlight, retries, elapsed: (e.elapsedMs / 1000).toFixed(1) };
        if (!started) {
          bar.start(e.total, e.done, payload);
          started = true;
        } else bar.update(e.done, payload);
      },
      stop: () => started && bar.stop(),
    };
  }
  let lastDecile = -1;
  return {
    update(e) {
      if (e.type === "retrying") {
        retries++;
        stream.write(`retrying task ${e.taskIndex} (attempt ${e.attempt} failed: ${e.message})\n`);
      }
      if (e.type !== "succeeded") return;
      const decile = Math.floor((e.done / e.total) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${label}: ${e.done}/${e.total} tasks (${Math.round((e.done / e.total) * 100)}%) after ${(e.elapsedMs / 1000).toFixed(1)} s\n`);
      }
    },
    stop() {},
  };
}
