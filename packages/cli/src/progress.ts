import cliProgress from "cli-progress";
import type { ProgressEvent } from "@superfaas/core";

/** Shows a run's progress: a live bar on a terminal, a plain line per 10% otherwise. Writes to stderr. */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): { update(e: ProgressEvent): void; stop(): void } {
  let retries = 0;
  // Backup attempts of stragglers started so far: shown once there is one.
  let backups = 0;
  const backupNote = () => (backups ? `, ${backups} backup${backups === 1 ? "" : "s"} of stragglers` : "");
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} {bar} {percentage}% | {value}/{total} tasks | {inFlight} in flight | {retries} retries{backups} | {elapsed}s | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(e) {
        if (e.type === "retrying" && !e.throttled) retries++;
        if (e.backup) backups++;
        const payload = { inFlight: e.inFlight, retries, backups: backupNote(), elapsed: (e.elapsedMs / 1000).toFixed(1) };
        if (!started) {
          bar.start(e.total, e.done, payload);
          started = true;
        } else bar.update(e.done, payload);
      },
      stop: () => started && bar.stop(),
    };
  }
  let lastDecile = -1;
  let throttled = 0;
  return {
    update(e) {
      if (e.type === "retrying" && e.throttled) {
        // Throttling is the platform pacing the run, not a failure: one line when it starts, then a count on the
        // progress lines (a run far over a namespace's per-minute limit would otherwise print a line per 429).
        if (throttled++ === 0) stream.write(`${label}: the platform is throttling invocations (${e.message}); the run goes on at the pace its limits allow\n`);
      } else if (e.type === "retrying") {
        retries++;
        stream.write(`retrying task ${e.taskIndex} (attempt ${e.attempt} failed: ${e.message})\n`);
      }
      if (e.backup) backups++;
      if (e.type !== "succeeded") return;
      const decile = Math.floor((e.done / e.total) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        const note = (throttled ? `, ${throttled} throttled attempt${throttled === 1 ? "" : "s"} so far` : "") + backupNote();
        stream.write(`${label}: ${e.done}/${e.total} tasks (${Math.round((e.done / e.total) * 100)}%) after ${(e.elapsedMs / 1000).toFixed(1)} s${note}\n`);
      }
    },
    stop() {},
  };
}
