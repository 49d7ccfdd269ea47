// Actions: the collection (paged, newest first), GET one (with or without its code), PUT (create, or update with
// overwrite=true: the kind, code size and limits checked as the controller checks them) and DELETE. POST is an
// invocation (invoke.ts). Deleting or updating an action retires its containers.
import type { IncomingMessage, ServerResponse } from "node:http";
import { invoke } from "./invoke.js";
import { msg } from "./messages.js";
import type { Action, ActionLimits, Emulator } from "./model.js";
import { MB } from "./profile.js";

export async function actionsRoute(emu: Emulator, req: IncomingMessage, res: ServerResponse, url: URL, ns: string, rest: string[]): Promise<void> {
  if (rest.length === 0) {
    if (req.method !== "GET") return emu.error(res, 405, "Method not allowed.");
    // The controller pages collections: `limit` (default 30, at most 200) and `skip`; newest first.
    const limit = url.searchParams.has("limit") ? Number(url.searchParams.get("limit")) : 30;
    const skip = url.searchParams.has("skip") ? Number(url.searchParams.get("skip")) : 0;
    if (!Number.isInteger(limit) || limit < 0 || limit > 200) return emu.error(res, 400, `The value '${url.searchParams.get("limit")}' is not in the range of 0 to 200.`);
    if (!Number.isInteger(skip) || skip < 0) return emu.error(res, 400, `The value '${url.searchParams.get("skip")}' is not a non-negative integer.`);
    const all = [...emu.actions.values()].filter((a) => a.namespace === ns).reverse();
    const list = all.slice(skip, skip + (limit === 0 ? 200 : limit)).map((a) => actionView(a, false));
    return emu.send(res, 200, list);
  }
  const name = rest.join("/");
  const key = `${ns}/${name}`;
  switch (req.method) {
    case "GET": {
      const a = emu.actions.get(key);
      if (!a) return emu.error(res, 404, msg.notFound);
      return emu.send(res, 200, actionView(a, url.searchParams.get("code") !== "false"));
    }
    case "PUT":
      return putAction(emu, req, res, url, ns, name, key);
    case "DELETE": {
      const a = emu.actions.get(key);
      if (!a) return emu.error(res, 404, msg.notFound);
      emu.actions.delete(key);
      for (const c of emu.live()) if (c.key === key) emu.retire(c, "action deleted");
      emu.pump();
      return emu.send(res, 200, actionView(a, false));
    }
    case "POST":
      return invoke(emu, req, res, url, ns, name, key);
    default:
      return emu.error(res, 405, "Method not allowed.");
  }
}

/** An action document as the controller shows it, with or without its code. */
function actionView(a: Action, withCode: boolean): Omit<Action, "exec"> & { exec: Partial<Action["exec"]> } {
  const { code, ...exec } = a.exec;
  return { ...a, exec: withCode ? { ...exec, code } : exec };
}

/** What a PUT may carry. */
interface ActionDoc {
  exec?: { kind?: unknown; code?: unknown; binary?: unknown; main?: string };
  limits?: Partial<ActionLimits>;
  annotations?: unknown;
  parameters?: unknown;
}

async function putAction(emu: Emulator, req: IncomingMessage, res: ServerResponse, url: URL, ns: string, name: string, key: string): Promise<void> {
  if (!/^[\w@ .-]+(\/[\w@ .-]+)?$/.test(name) || /^[ .@-]|[ ]$/.test(name)) return emu.error(res, 400, "The name of the entity contains illegal characters.");
  const body = await emu.readBody(req, Math.ceil(emu.limits.maxCodeBytes * 1.4) + MB);
  if (body.tooLarge) return emu.error(res, 413, msg.tooBig("Request", body.size, Math.ceil(emu.limits.maxCodeBytes * 1.4) + MB));
  let doc: ActionDoc;
  try {
    doc = body.text ? JSON.parse(body.text) : {};
  } catch (err) {
    return emu.error(res, 400, msg.malformed((err as Error).message));
  }
  const existing = emu.actions.get(key);
  const overwrite = url.searchParams.get("overwrite") === "true";
  if (existing && !overwrite) return emu.error(res, 409, msg.exists);
  const o = emu.options;
  const exec = doc.exec ?? existing?.exec;
  if (!exec || typeof exec !== "object") return emu.error(res, 400, "exec undefined");
  const kind = emu.kinds.get(exec.kind as string);
  if (!kind) return emu.error(res, 400, msg.unsupportedKind(exec.kind, o.kinds.map((k) => k.kind)));
  if (typeof exec.code !== "string" || !exec.code) return emu.error(res, 400, "exec malformed: code is required");
  const codeBytes = Buffer.byteLength(exec.code);
  if (codeBytes > emu.limits.maxCodeBytes) return emu.error(res, 413, msg.tooBig("Exec", codeBytes, emu.limits.maxCodeBytes));
  // Base64 that opens like a zip ("PK\x03\x04") is taken as a zip, as on the platform.
  const binary = exec.binary === true || exec.code.startsWith("UEsDB");
  const given: Partial<ActionLimits> = { ...(existing?.limits ?? {}), ...(doc.limits ?? {}) };
  const limits: ActionLimits = {
    timeout: given.timeout ?? o.timeoutMs.std,
    memory: given.memory ?? o.memoryMb.std,
    logs: given.logs ?? o.logsMb.std,
    concurrency: given.concurrency ?? o.actionConcurrency.std,
  };
  const range = (what: string, v: number, r: { min: number; max: number }, unit: string): string | undefined => {
    if (!Number.isInteger(v)) return `${what} must be an integer`;
    if (v < r.min) return `${what} ${v} ${unit} below allowed threshold of ${r.min} ${unit}`;
    if (v > r.max) return `${what} ${v} ${unit} exceeds allowed threshold of ${r.max} ${unit}`;
    return undefined;
  };
  const bad = range("timeout", limits.timeout, o.timeoutMs, "ms") ?? range("memory", limits.memory, o.memoryMb, "MB") ?? range("logs", limits.logs, o.logsMb, "MB");
  if (bad) return emu.error(res, 400, `The request content was malformed:\nrequirement failed: ${bad}.`);
  const cc = limits.concurrency;
  const r = o.actionConcurrency;
  if (!Number.isInteger(cc) || cc < r.min || cc > r.max) {
    // The Helm chart's releases check the range while reading the request; current controllers check it against the
    // namespace's limits afterwards, with other words. Neither shows in the info document.
    if (o.concurrencyWording === "range") return emu.error(res, 400, `The request content was malformed:\nrequirement failed: ${msg.concurrencyRange(cc, r)}`);
    return emu.error(res, 400, cc > r.max ? msg.concurrencyAbove(cc, r.max) : msg.concurrencyBelow(cc, r.min));
  }
  const version = existing ? bumpPatch(existing.version) : "0.0.1";
  const action: Action = {
    namespace: ns,
    name,
    version,
    publish: false,
    exec: { kind, code: exec.code, binary, ...(exec.main ? { main: exec.main } : {}) },
    annotations: [...(Array.isArray(doc.annotations) ? doc.annotations : existing?.annotations ?? []), { key: "exec", value: kind.split(":")[0] }],
    parameters: Array.isArray(doc.parameters) ? doc.parameters : existing?.parameters ?? [],
    limits,
    updated: Date.now(),
  };
  emu.actions.set(key, action);
  // Containers of the old code never serve again (placement matches the version).
  for (const c of emu.live()) if (c.key === key) emu.retire(c, "action updated");
  emu.pump();
  return emu.send(res, 200, actionView(action, true));
}

function bumpPatch(version: string): string {
  const [a, b, c] = String(version).split(".").map(Number);
  return `${a}.${b}.${(c || 0) + 1}`;
}
