// What OpenWhisk bills: an activation's duration. The activation list tells what ran for an action since a time,
// the attempts the client gave up on included (they run on to their end).
import { sleep } from "./control.js";
import type { Transport } from "./transport.js";

/** Activations recorded, their summed duration, and whether the listing was read to its end. */
export interface Billed {
  invocations: number;
  billedMs: number;
  complete: boolean;
}

/**
 * The activations of the action recorded since `since` (their count and summed duration, what OpenWhisk bills),
 * from the activation list (`GET …/activations?name=…&since=…`, 200 a page). Records appear as activations end, so
 * it looks again, backing off, until `expected` are there or `signal` ends the wait: then the last listing counts.
 */
export async function billedSince(transport: Transport, name: string, since: number, expected: number, signal: AbortSignal): Promise<Billed | undefined> {
  let last: Billed | undefined;
  for (let i = 0; !signal.aborted; i++) {
    const seen = await listBilled(transport, name, since, signal).catch(() => undefined);
    if (seen) last = seen;
    if (last?.complete && last.invocations >= expected) break;
    await sleep(Math.min(1_000, 100 * 2 ** i), signal).catch(() => undefined);
  }
  return last;
}

async function listBilled(transport: Transport, name: string, since: number, signal: AbortSignal): Promise<Billed | undefined> {
  const PAGE = 200;
  let invocations = 0;
  let billedMs = 0;
  // At most 50 pages (10,000 activations): beyond that the listing is called incomplete and the caller estimates.
  for (let page = 0; page < 50; page++) {
    const path = `${transport.actionPath(name).replace(/actions\/[^/]*$/, "activations")}?name=${encodeURIComponent(name)}&since=${Math.floor(since)}&limit=${PAGE}&skip=${page * PAGE}`;
    const answer = await transport.get(path, signal);
    if (answer.status !== 200 || !Array.isArray(answer.body)) return undefined;
    for (const a of answer.body as { duration?: unknown }[]) {
      invocations++;
      if (typeof a?.duration === "number") billedMs += a.duration;
    }
    if (answer.body.length < PAGE) return { invocations, billedMs, complete: true };
  }
  return { invocations, billedMs, complete: false };
}
