// Invokers: activations queued for a container, placed on a warm one of their action, one still starting, or a new
// one (evicting an idle container when the invoker is full); and containers retired (their action deleted or
// updated: what runs goes on to its end) or killed.
import { startContainer } from "./container.js";
import { msg, SUCCESS, WHISK_ERROR } from "./messages.js";
import type { Activation, Container, Emulator } from "./model.js";
import { run } from "./run.js";

export function enqueue(emu: Emulator, act: Activation) {
  if (emu.options.instantActions && act.crashAfterMs === undefined) {
    // Benchmarks only: the no-op job's answer (its task as the partial), without a container or a run request.
    const now = Date.now();
    emu.stats.warmStarts++;
    const envelope = { ok: true, partial: act.params.task, workerId: "openwhisk:emulator:instant", coldStart: false, durationMs: 0 };
    return emu.complete(act, { statusCode: SUCCESS, result: envelope }, { start: now, end: now, waitTime: 0 });
  }
  emu.queue.push(act);
  emu.pump();
}

/** Places queued activations on containers: a warm one of the action, a new one, or one that evicts an idle container. */
export function pump(emu: Emulator): void {
  if (emu.closed) return;
  // Once one activation of an action finds no container, the later ones of that action will not either: skip
  // them, so a long queue costs one look per action, not one per queued activation.
  const full = new Set<string>();
  let noNewContainers = false;
  for (let i = 0; i < emu.queue.length; ) {
    const act = emu.queue[i]!;
    if (full.has(act.key)) {
      i++;
      continue;
    }
    const placed = place(emu, act, noNewContainers);
    if (placed === "placed") emu.queue.splice(i, 1);
    else {
      full.add(act.key);
      noNewContainers = true;
      i++;
    }
  }
}

/** "placed", or "full" when no container can be had for it now. */
function place(emu: Emulator, act: Activation, noNewContainers: boolean): "placed" | "full" {
  const action = emu.actions.get(act.key);
  if (!action) {
    const now = Date.now();
    emu.complete(act, { statusCode: WHISK_ERROR, result: { error: msg.removed } }, { start: now, end: now });
    return "placed";
  }
  act.action = action;
  const warm = emu.live()
    .filter((c) => c.key === act.key && !c.retiring && c.version === action.version && c.state === "ready" && c.running.size < action.limits.concurrency)
    .sort((x, y) => x.running.size - y.running.size || y.lastUsed - x.lastUsed)[0];
  if (warm) {
    emu.stats.warmStarts++;
    void run(emu, warm, act, {}).catch((err) => emu.internalError(err));
    return "placed";
  }
  // A container still starting for this action takes more activations when the action allows concurrency.
  const starting = emu.live().find((c) => c.key === act.key && !c.retiring && c.version === action.version && c.state === "starting" && c.backlog.length + 1 < action.limits.concurrency);
  if (starting) {
    starting.backlog.push(act);
    return "placed";
  }
  if (noNewContainers) return "full";
  const cap = emu.limits.containersPerInvoker;
  let invoker = emu.invokers.filter((i) => i.containers.size < cap).sort((x, y) => x.containers.size - y.containers.size)[0];
  if (!invoker) {
    // At capacity: an idle container (of another action, or an old version) makes room, least recently used first.
    const idle = emu.live()
      .filter((c) => c.state === "ready" && c.running.size === 0)
      .sort((x, y) => x.lastUsed - y.lastUsed)[0];
    if (!idle) return "full";
    emu.kill(idle, "evicted for another action");
    invoker = idle.invoker;
  }
  startContainer(emu, invoker, action, act);
  return "placed";
}

export function killForMemory(emu: Emulator, c: Container): void {
  if (c.state === "dead") return;
  c.memoryKilled = true;
  emu.stats.memoryKills++;
  emu.kill(c, "memory exhausted");
}

/**
 * A container of an action that was deleted or updated: as on the stock invoker, what it runs goes on to its end (the
 * activation is billed and recorded as usual; deleting an action cancels nothing), then the container is removed. An
 * idle one goes at once.
 */
export function retire(emu: Emulator, c: Container, why: string) {
  if (c.state === "dead") return;
  if (c.running.size === 0 && c.backlog.length === 0 && c.state !== "starting") return emu.kill(c, why);
  c.retiring = why;
}

export function kill(emu: Emulator, c: Container, _why: string): void {
  if (c.state === "dead") return;
  c.state = "dead";
  for (const w of [...(c.markWaiters ?? [])]) w();
  if (c.invoker.containers.delete(c)) emu.stats.containersKilled++;
  c.child?.kill("SIGKILL");
}
