// Activations: the list (by name and start time, newest first, with or without their documents), one record, its
// result and its logs; and the record made when an activation ends, which answers whoever waits for it.
import type { IncomingMessage, ServerResponse } from "node:http";
import { msg, STATUS, SUCCESS } from "./messages.js";
import type { Activation, Emulator, Outcome, Times } from "./model.js";
import type { ActivationRecord } from "./options.js";

export function activationsRoute(emu: Emulator, req: IncomingMessage, res: ServerResponse, url: URL, _ns: string, rest: string[]) {
  if (req.method !== "GET") return emu.error(res, 405, "Method not allowed.");
  if (rest.length === 0) {
    const limit = Math.min(200, Number(url.searchParams.get("limit") ?? 30) || 30);
    const skip = Number(url.searchParams.get("skip") ?? 0) || 0;
    const docs = url.searchParams.get("docs") === "true";
    const name = url.searchParams.get("name");
    // `since`/`upto` bound the activations' start (epoch ms), as the controller's list does.
    const since = Number(url.searchParams.get("since") ?? 0) || 0;
    const upto = Number(url.searchParams.get("upto") ?? 0) || Infinity;
    const all = [...emu.activations.values()].filter((r) => (!name || r.name === name) && r.start >= since && r.start <= upto).reverse();
    return emu.send(res, 200, all.slice(skip, skip + limit).map((r) => (docs ? r : { ...r, response: undefined, logs: undefined })));
  }
  emu.stats.polls++;
  const record = emu.activations.get(rest[0]!);
  if (!record) return emu.error(res, 404, msg.notFound);
  if (rest[1] === "result") return emu.send(res, 200, record.response);
  if (rest[1] === "logs") return emu.send(res, 200, { logs: record.logs });
  if (rest.length > 1) return emu.error(res, 404, msg.notFound);
  return emu.send(res, 200, record);
}

/** Records an activation's outcome and answers whoever waits for it. */
export function complete(emu: Emulator, act: Activation, response: Outcome, { start, end, waitTime, initTime, timedOut = false, fallback = false }: Times): void {
  if (!emu.pending.has(act.id)) return;
  emu.pending.delete(act.id);
  emu.ns.inFlight--;
  const a = act.action;
  const resultText = response.result === undefined ? "" : JSON.stringify(response.result);
  const record: ActivationRecord = {
    namespace: act.ns,
    name: a.name,
    version: a.version,
    subject: emu.subject,
    activationId: act.id,
    start,
    end,
    duration: Math.max(0, end - start),
    // As the controller presents records (WhiskActivation.toExtendedJson): the status code stays internal, the
    // response says `status` and `success` instead.
    response: {
      status: STATUS[response.statusCode]!,
      success: response.statusCode === SUCCESS,
      result: response.result ?? {},
      size: response.size ?? resultText.length,
    },
    logs: act.logs,
    // A record the scheduler made without an invoker (MemoryQueue.generateFallbackActivation) has path, kind and
    // limits only.
    annotations: fallback
      ? [
          { key: "path", value: `${act.ns}/${a.name}` },
          { key: "kind", value: a.exec.kind },
          { key: "limits", value: a.limits },
        ]
      : [
          { key: "path", value: `${act.ns}/${a.name}` },
          { key: "waitTime", value: Math.max(0, waitTime ?? start - act.acceptedAt) },
          { key: "kind", value: a.exec.kind },
          { key: "timeout", value: timedOut },
          { key: "limits", value: a.limits },
          ...(initTime !== undefined ? [{ key: "initTime", value: initTime }] : []),
        ],
    publish: false,
  };
  emu.activations.set(act.id, record);
  if (emu.activations.size > emu.options.activationsKept) emu.activations.delete(emu.activations.keys().next().value!);
  emu.stats.completed++;
  emu.stats.byStatus[record.response.status]++;
  for (const w of [...act.waiters]) w(record);
}
