// Billing the attempts a run gave up on before their answer (a losing backup or original, a deadline, a cancel or a
// failure ending the run): the platform may bill them all the same.
import type { Backend } from "../../backend.js";
import type { ScheduleResult } from "../../schedule/scheduler.js";

/** How long the platform's records of attempts given up on are waited for after the run (a cancel included). */
const BILLED_LOOKUP_MS = 5_000;

/**
 * The billed time of the attempts the run gave up on before their answer. Where the platform keeps records of what it
 * ran (`Backend.billedSince`), the ones recorded beyond the answered attempts are measured; the rest (still running,
 * or a platform with no records) are estimated at the attempt's time limit, the most the platform can bill for one
 * (it runs an attempt on after the client stops waiting), never below the time it had run when given up. Backends that
 * bill nothing (no price, no records) are left out.
 */
export async function accountAbandoned(backend: Backend, ab: ScheduleResult["abandoned"], answeredMs: number, cancelled: boolean): Promise<{ measuredMs: number; estimatedMs: number; estimatedAttempts: number }> {
  // A backend that bills nothing (the local pool) has nothing to account.
  if (ab.count <= 0 || !(backend.estimateCost || backend.billedSince)) return { measuredMs: 0, estimatedMs: 0, estimatedAttempts: 0 };
  const estimate = (n: number) => Math.max(ab.inFlightMs * (n / ab.count), n * ab.limitMs);
  let seen: Awaited<ReturnType<NonNullable<Backend["billedSince"]>>>;
  try {
    // A cancelled run ends at once (Ctrl-C must not wait for attempts to finish): the attempts it gave up on are
    // estimated. Otherwise the lookup waits a little for the records still to come.
    seen = cancelled ? undefined : await backend.billedSince?.(ab.since, ab.answered + ab.count, AbortSignal.timeout(BILLED_LOOKUP_MS));
  } catch {
    seen = undefined; // no records in time: every such attempt is estimated
  }
  if (seen && !seen.complete) seen = undefined; // a partial listing cannot tell which attempts it missed
  const found = seen ? Math.min(ab.count, Math.max(0, seen.invocations - ab.answered)) : 0;
  const measuredMs = found ? Math.max(0, seen!.billedMs - answeredMs) : 0;
  const left = ab.count - found;
  return { measuredMs, estimatedMs: left ? estimate(left) : 0, estimatedAttempts: left };
}
