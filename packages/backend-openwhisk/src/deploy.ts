// The action's life: made from the job's bundle (a zip, with superfaas's owner annotation), found when another run
// of the same code made it, listed by owner for clean-up, and deleted.
import { zipBundle, type FunctionSpec, type OwnedFunction, type OwnerMarker, type PrepareContext } from "@superfaas/core";
import type { OpenWhiskConfig } from "./config.js";
import { configError, control, notController, quote, said, type Controller } from "./control.js";
import type { Deployment } from "./discover.js";
import type { HttpAnswer } from "./transport.js";
import { S3_PARAM } from "./wire.js";

/** Makes the action without overwrite: "found" when one of this name (another run's, same code) exists. */
export async function deployAction(ctl: Controller, c: OpenWhiskConfig, d: Deployment, spec: FunctionSpec, ctx: PrepareContext): Promise<"created" | "found"> {
  const { transport } = ctl;
  const zip = await zipBundle(spec.bundle, "index.js");
  ctx.log?.(`openwhisk: deploying action ${spec.name} (${(zip.length / 1024).toFixed(0)} KB zip, kind ${d.kind})`);
  const body = JSON.stringify({
    exec: { kind: d.kind, code: Buffer.from(zip).toString("base64"), binary: true },
    limits: { timeout: d.actionTimeoutMs, memory: d.memory, logs: 10, concurrency: c.actionConcurrency },
    parameters: c.s3 ? [{ key: S3_PARAM, value: c.s3 }] : [],
    annotations: [
      { key: "superfaas-job", value: spec.owner.job },
      { key: "superfaas-hash", value: spec.bundle.hash },
      { key: "superfaas-owner", value: spec.owner },
      // The invoker hands the namespace's key to every container unless told not to: the job does not need it.
      { key: "provide-api-key", value: false },
    ],
  });
  // Without overwrite: an action of this name (same code, same settings) that exists already is another run's.
  // A large zip gets time to travel (100 KB/s at least) on top of the control-plane deadline.
  const path = `${transport.actionPath(spec.name)}?overwrite=false`;
  const doing = `deploying action ${spec.name}`;
  let answer: HttpAnswer;
  try {
    answer = await control(ctl, "PUT", path, body, ctx.signal, doing, Math.ceil(body.length / 100));
  } catch (err) {
    // Cancelled while the PUT was in flight: the controller may have made the action all the same.
    if (ctx.signal?.aborted) await removeIfOurs(ctl, spec.name, spec.owner.runId);
    throw err;
  }
  const { status } = answer;
  if (status < 300) {
    const a = answer.body as { name?: unknown; exec?: unknown } | string;
    if (typeof a !== "object" || a === null || typeof a.name !== "string") throw notController(transport.url(path), "the deploy (PUT)", answer);
    return "created";
  }
  if (status === 409) return "found";
  const text = said(answer);
  if (status === 400 && /concurrency/i.test(text)) {
    throw configError(
      `this deployment refused --action-concurrency ${c.actionConcurrency} (HTTP 400: ${quote(text)})`,
      c.actionConcurrency > 1
        ? "leave --action-concurrency at 1 (stock deployments allow 1..1), or ask the operator to raise the action-concurrency limit and run the invokers with __OW_ALLOW_CONCURRENT=true"
        : "ask the operator which action concurrency the namespace allows",
    );
  }
  if (status === 400 && /not supported by this platform/.test(text)) throw configError(`this deployment refused kind ${d.kind}: ${quote(text)}`, "pass --kind with one of the valid values, or leave --kind out");
  if (status === 401 || status === 403) throw configError(`the controller refused the credentials while ${doing} (HTTP ${status}): ${quote(text)}`, "check --auth / __OW_API_KEY / AUTH in ~/.wskprops and the namespace");
  if (status === 413) throw configError(`the action is too large for this deployment (HTTP 413): ${quote(text)}`, "a smaller job module (fewer dependencies) makes a smaller zip; the stock limit is 48 MB of code");
  throw configError(`the controller answered HTTP ${status} while ${doing}: ${quote(text)}`, "check the action limits (--memory, --action-timeout, --action-concurrency) and the deployment's settings");
}

/** Every action of the namespace with superfaas's owner annotation, page by page (`limit` at most 200, `skip`). */
export async function listOwned(ctl: Controller): Promise<OwnedFunction[]> {
  const { transport } = ctl;
  const out: OwnedFunction[] = [];
  const limit = 200;
  const base = transport.actionPath("").replace(/\/$/, "");
  for (let skip = 0; ; skip += limit) {
    const answer = await control(ctl, "GET", `${base}?limit=${limit}&skip=${skip}`, null, undefined, "listing actions");
    if (answer.status >= 300) throw configError(`the controller answered HTTP ${answer.status} while listing actions: ${quote(said(answer))}`, "check --auth and --namespace");
    const page = Array.isArray(answer.body) ? (answer.body as { name?: unknown; annotations?: { key: string; value: unknown }[] }[]) : [];
    for (const a of page) {
      const owner = a.annotations?.find((n) => n.key === "superfaas-owner")?.value as Partial<OwnerMarker> | undefined;
      if (typeof a.name === "string" && owner?.tool === "superfaas" && typeof owner.runId === "string") out.push({ name: a.name, owner: owner as OwnerMarker });
    }
    if (page.length < limit) return out;
  }
}

/** Deletes the action if its owner annotation names this run (best effort: a clean-up after a cancelled deploy). */
export async function removeIfOurs(ctl: Controller, name: string, runId: string): Promise<void> {
  const { transport } = ctl;
  try {
    const answer = await control(ctl, "GET", transport.actionPath(name), null, undefined, `looking up action ${name}`);
    const notes = (answer.body as { annotations?: { key: string; value: unknown }[] } | undefined)?.annotations;
    const owner = notes?.find((n) => n.key === "superfaas-owner")?.value as { runId?: unknown } | undefined;
    if (answer.status < 300 && owner?.runId === runId) await removeAction(ctl, name);
  } catch {
    // Not there (never made), or unreachable: nothing more to do.
  }
}

export async function removeAction(ctl: Controller, name: string): Promise<void> {
  const { transport } = ctl;
  const answer = await control(ctl, "DELETE", transport.actionPath(name), null, undefined, `deleting action ${name}`);
  if (answer.status >= 300 && answer.status !== 404) throw configError(`the controller answered HTTP ${answer.status} while deleting action ${name}: ${quote(said(answer))}`, `delete it with \`wsk action delete ${name}\``);
}
