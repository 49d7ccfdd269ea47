// What the deployment offers and allows, read once from the controller's info document (`GET /`) before anything
// is deployed: the kind (and its Node.js version, what the bundle targets), the action's memory and time limit within
// the deployment's bounds, and the longest blocking wait the controller allows.
import type { OpenWhiskConfig } from "./config.js";
import { configError, control, notController, type Controller } from "./control.js";

/** The controller's info document (`GET /`, Controller.scala `info`), as far as the backend reads it. */
export interface ControllerInfo {
  limits?: Partial<Record<"actions_per_minute" | "concurrent_actions" | "min_action_memory" | "max_action_memory" | "min_action_duration" | "max_action_duration", number>>;
  runtimes?: Record<string, { kind: string; default?: boolean; deprecated?: boolean }[]>;
}

/** What the backend settled on for the deployment it talks to (read once per backend, in the first prepare). */
export interface Deployment {
  /** The kind sent with the action: the requested one, or the newest Node.js kind offered. */
  kind: string;
  /** Its Node.js major version (what the bundle targets). */
  nodeMajor: number;
  memory: number;
  actionTimeoutMs: number;
  info: ControllerInfo | undefined;
}

export const MB = 1024 * 1024;
/** The oldest Node.js the action's bundle can target: esbuild lowers the syntax, not the missing APIs. */
const OLDEST_NODE = 14;

const nodeMajorOf = (kind: string): number | undefined => {
  const m = /^nodejs:(\d+)$/.exec(kind);
  return m ? Number(m[1]) : undefined;
};

/**
 * Reads the controller's info document (runtimes and limits) and settles the kind, memory and time limit against
 * it: anything the deployment does not offer or allow is refused here, before anything is deployed.
 */
export async function readDeployment(ctl: Controller, c: OpenWhiskConfig, ctx: { signal?: AbortSignal; log?: (message: string) => void }): Promise<Deployment> {
  const { transport } = ctl;
  const path = transport.infoPath;
  // The controller serves it to anyone (Controller.scala's `info` route is outside authentication): no credentials.
  const answer = await control(ctl, "GET without credentials", path, null, ctx.signal, "reading the controller's info document (GET /)");
  let info: ControllerInfo | undefined;
  if (answer.status < 300) {
    const body = answer.body as ControllerInfo | undefined;
    if (!body || typeof body !== "object" || (typeof body.runtimes !== "object" && typeof body.limits !== "object")) throw notController(transport.url(path), "GET /", answer);
    info = body;
  } else {
    ctx.log?.(`openwhisk: no info document at ${transport.url(path)} (HTTP ${answer.status}): kinds and limits are not checked before deploying`);
  }
  const { kind, nodeMajor } = chooseKind(c.kind, info);
  const l = info?.limits ?? {};
  const memory = bounded("--memory", c.memory, c.given.memory, l.min_action_memory, l.max_action_memory, MB, "MB", "max_action_memory");
  const actionTimeoutMs = bounded("--action-timeout", c.actionTimeoutMs, c.given.actionTimeout, l.min_action_duration, l.max_action_duration, 1, "ms", "max_action_duration");
  return { kind, nodeMajor, memory, actionTimeoutMs, info };
}

/** The requested kind if the deployment offers it, else (none requested) the newest Node.js kind it offers. */
function chooseKind(requested: string | undefined, info: ControllerInfo | undefined): { kind: string; nodeMajor: number } {
  const runtimes = info?.runtimes?.nodejs ?? [];
  const offered = runtimes.map((r) => r.kind).filter((k) => nodeMajorOf(k) !== undefined);
  const all = Object.values(info?.runtimes ?? {}).flatMap((family) => (Array.isArray(family) ? family.map((r) => r.kind) : []));
  const valid = [...offered, ...(offered.length ? ["nodejs:default"] : [])].join(", ");
  let kind: string;
  let nodeMajor: number | undefined;
  if (requested && requested !== "nodejs:default") {
    if (info?.runtimes && !offered.includes(requested)) {
      throw configError(`this deployment does not offer --kind ${requested}: its Node.js kinds are ${valid || "none"}`, offered.length ? `pass --kind ${offered.at(-1)}, or leave --kind out for the newest` : `its runtimes are ${all.join(", ") || "none"}: ask the operator to add a Node.js runtime`);
    }
    kind = requested;
    nodeMajor = nodeMajorOf(requested);
  } else if (requested === "nodejs:default" || !info?.runtimes) {
    kind = "nodejs:default";
    const std = runtimes.find((r) => r.default)?.kind;
    // Without the document the default kind's version is unknown: build for the oldest one the bundles support.
    nodeMajor = std ? nodeMajorOf(std) : OLDEST_NODE;
    if (info?.runtimes && !std) throw configError(`this deployment has no default Node.js kind: its Node.js kinds are ${valid || "none"}`, "pass --kind with one of them");
  } else {
    const usable = runtimes.filter((r) => !r.deprecated && nodeMajorOf(r.kind) !== undefined);
    const newest = (usable.length ? usable : runtimes.filter((r) => nodeMajorOf(r.kind) !== undefined)).sort((a, b) => nodeMajorOf(b.kind)! - nodeMajorOf(a.kind)!)[0];
    if (!newest) throw configError(`this deployment offers no Node.js kind (its kinds: ${all.join(", ") || "none"})`, "ask the operator to add a Node.js runtime (nodejs:18 or later) to the runtimes manifest");
    kind = newest.kind;
    nodeMajor = nodeMajorOf(kind);
  }
  if (nodeMajor === undefined || nodeMajor < OLDEST_NODE) {
    throw configError(`kind ${kind} runs Node.js ${nodeMajor}, older than Node.js ${OLDEST_NODE}, the oldest the action's bundle can run on`, `pass --kind with a newer Node.js kind${valid ? ` (${valid})` : ""}, or ask the operator to add nodejs:20`);
  }
  return { kind, nodeMajor };
}

/** A limit checked against the deployment's bounds: a given value outside is refused, the default moves inside. */
function bounded(flag: string, value: number, given: boolean, min: number | undefined, max: number | undefined, unit: number, unitName: string, maxName: string): number {
  const lo = typeof min === "number" ? Math.ceil(min / unit) : undefined;
  const hi = typeof max === "number" ? Math.floor(max / unit) : undefined;
  if ((lo === undefined || value >= lo) && (hi === undefined || value <= hi)) return value;
  if (!given) return Math.min(hi ?? value, Math.max(lo ?? value, value));
  const show = (v: number | undefined) => (v === undefined ? "?" : unitName === "ms" ? `${v / 1000} s` : `${v} MB`);
  const shown = unitName === "ms" ? `${value / 1000} s` : `${value} MB`;
  throw configError(
    `${flag} ${shown} is outside this deployment's action limits (${show(lo)} to ${show(hi)}, from its info document)`,
    `pass ${flag} within them, or ask the operator to raise ${maxName}`,
  );
}

/**
 * The longest blocking wait the controller allows, from its 400 for a larger `timeout` query parameter: Pekko HTTP's
 * "The query parameter 'timeout' was malformed:" around Messages.invalidTimeout ("Timeout must be number of
 * milliseconds up to 60000.", apache/openwhisk common/scala/.../http/ErrorResponse.scala), in the JSON `{error, code}`.
 */
export const maxBlockingWait = (body: unknown): number | undefined => {
  const said = body && typeof body === "object" ? (body as { error?: unknown }).error : undefined;
  if (typeof said !== "string" || !/\btimeout\b/i.test(said)) return undefined;
  const m = /milliseconds up to (\d+)/i.exec(said);
  const ms = m ? Number(m[1]) : Number.NaN;
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
};
