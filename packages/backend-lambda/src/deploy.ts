// Lambda's deployments: the function made from a job (found, or created and waited for until Active), woken when
// Inactive, deleted, and listed by its owner tags; and the CloudWatch log group each created function gets.
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  ListFunctionsCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type FunctionConfiguration,
  type LambdaClient,
  type Runtime,
} from "@aws-sdk/client-lambda";
import { CreateLogGroupCommand, DeleteLogGroupCommand, PutRetentionPolicyCommand, type CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { functionName, SuperfaasError, zipBundle, type FunctionSpec, type OwnedFunction, type PrepareContext } from "@superfaas/core";
import { configError, type AwsError } from "./classify.js";
import { MINIMAL_ROLE_HINT, type FunctionS3Config, type LambdaConfig } from "./config.js";
import { DATA_ENV, S3_ENV } from "./wire.js";

/** The handler the runtime calls: `handler` of the zip's index.js (handler-entry.ts, bundled). */
export const HANDLER = "index.handler";

/** `superfaas-<job>-<hash>`: at most 64 characters of letters, digits, '-' and '_', as Lambda requires. */
export function lambdaFunctionName(jobName: string, hash: string): string {
  return functionName(jobName, hash, 64);
}

/** What deploying a function needs: the control-plane clients, the settings, and the store's settings for the function. */
export interface ControlPlane {
  control: LambdaClient;
  /** CloudWatch Logs, for the retention of the log groups of functions this backend creates. */
  logs: CloudWatchLogsClient;
  config: LambdaConfig;
  /** The store's settings as the function receives them (environment), known once the bucket is checked. */
  functionS3: FunctionS3Config | undefined;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Creates the function (or finds it, made by another run), and waits until it can run. */
export async function deployFunction(cp: ControlPlane, spec: FunctionSpec, ctx: PrepareContext): Promise<"created" | "found"> {
  const c = cp.config;
  const { name } = spec;
  const signal = ctx.signal;
  let current: FunctionConfiguration | undefined;
  try {
    current = (await cp.control.send(new GetFunctionCommand({ FunctionName: name }), { abortSignal: signal })).Configuration;
  } catch (err) {
    if ((err as Error).name !== "ResourceNotFoundException") throw configError(err, `looking up function ${name}`, cp.config, signal);
  }
  let how: "created" | "found" = "found";
  if (!current) {
    if (!c.role) throw new SuperfaasError("BACKEND_CONFIG", `lambda: function ${name} does not exist yet and no execution role is set to create it`, MINIMAL_ROLE_HINT);
    const zip = await zipBundle(spec.bundle, "index.js");
    ctx.log?.(`lambda: creating function ${name} (${(zip.length / 1024).toFixed(0)} KB zip, ${c.runtime}, ${c.arch}, ${c.memory} MB, ${c.timeoutSeconds} s)`);
    await prepareLogGroup(cp, spec, ctx);
    try {
      how = (await createFunction(cp, spec, zip, signal)) ? "created" : "found";
    } catch (err) {
      // Cancelled while CreateFunction was in flight: Lambda may have made the function all the same.
      if (signal?.aborted) await removeIfOurs(cp.control, name, spec.owner.runId);
      throw err;
    }
    try {
      await waitFor(cp, "active", name, signal);
    } catch (err) {
      // Cancelled (Ctrl-C) or never Active: the caller never learns it was created, so it would be left behind.
      if (how === "created") await removeFunction(cp.control, name).catch(() => undefined);
      throw err;
    }
    return how;
  }
  if (current.State === "Failed") {
    throw new SuperfaasError("BACKEND_CONFIG", `lambda: function ${name} is in state Failed: ${current.StateReason ?? "no reason given"}`, `delete it (aws lambda delete-function --function-name ${name}) and run again`);
  }
  if (current.State === "Inactive") await wake(cp, name, signal);
  if (current.State !== "Active") await waitFor(cp, "active", name, signal);
  if (current.LastUpdateStatus === "InProgress") await waitFor(cp, "updated", name, signal);
  return how;
}

/**
 * Creates the log group of a function about to be created, with a retention, so runs do not keep logs forever (Lambda
 * would create it on the first log write, with none, and it outlives the function). A refusal (the caller may lack
 * logs:CreateLogGroup or logs:PutRetentionPolicy) does not stop the run: it is said, and the logs stay until deleted.
 */
async function prepareLogGroup(cp: ControlPlane, spec: FunctionSpec, ctx: PrepareContext): Promise<void> {
  const group = `/aws/lambda/${spec.name}`;
  const days = cp.config.logRetentionDays;
  const say = (err: unknown) => {
    if (ctx.signal?.aborted) throw configError(err, `creating log group ${group}`, cp.config, ctx.signal);
    const e = err as AwsError;
    ctx.log?.(
      `lambda: could not give log group ${group} a ${days}-day retention (${e.name}: ${e.message}); its logs are kept until it is deleted. ` +
        "Allow logs:CreateLogGroup and logs:PutRetentionPolicy on arn:aws:logs:REGION:ACCOUNT:log-group:/aws/lambda/superfaas-* (see the backend-lambda README)",
    );
  };
  try {
    await cp.logs.send(new CreateLogGroupCommand({ logGroupName: group, tags: { superfaas: spec.owner.tool, "superfaas-run": spec.owner.runId } }), {
      ...(ctx.signal ? { abortSignal: ctx.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name !== "ResourceAlreadyExistsException") return say(err);
  }
  try {
    await cp.logs.send(new PutRetentionPolicyCommand({ logGroupName: group, retentionInDays: days }), { ...(ctx.signal ? { abortSignal: ctx.signal } : {}) });
  } catch (err) {
    say(err);
  }
}

/** CreateFunction; false when it already exists. Retries while a new role is not yet assumable (IAM propagates slowly). */
async function createFunction(cp: ControlPlane, spec: FunctionSpec, zip: Uint8Array, signal?: AbortSignal): Promise<boolean> {
  const c = cp.config;
  const variables: Record<string, string> = {
    ...(cp.functionS3 ? { [S3_ENV]: JSON.stringify(cp.functionS3) } : {}),
    ...(c.functionDataEndpoint ? { [DATA_ENV]: JSON.stringify({ endpoint: c.functionDataEndpoint }) } : {}),
  };
  const input = {
    FunctionName: spec.name,
    Role: c.role!,
    Code: { ZipFile: zip },
    Architectures: [c.arch],
    PackageType: "Zip" as const,
    Runtime: c.runtime as Runtime,
    Handler: HANDLER,
    MemorySize: c.memory,
    Timeout: c.timeoutSeconds,
    Description: `superfaas job ${spec.owner.job} (bundle ${spec.bundle.hash.slice(0, 12)})`,
    Environment: { Variables: variables },
    Tags: {
      superfaas: spec.owner.tool,
      "superfaas-run": spec.owner.runId,
      "superfaas-created": spec.owner.createdAt,
      "superfaas-job": spec.owner.job,
      ...(spec.owner.kept ? { "superfaas-kept": "true" } : {}),
    },
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await cp.control.send(new CreateFunctionCommand(input), { abortSignal: signal });
      return true;
    } catch (err) {
      const e = err as AwsError;
      if (e.name === "ResourceConflictException") return false;
      if (e.name === "InvalidParameterValueException" && /cannot be assumed/i.test(e.message) && attempt < 8) {
        await sleep(2_000 * attempt, signal);
        continue;
      }
      throw configError(err, `creating function ${spec.name}`, cp.config, signal);
    }
  }
}

/**
 * An Inactive function (idle for long, its resources reclaimed) comes back when invoked: the invocation fails with
 * ResourceConflictException and the function turns Pending, then Active. A DryRun invocation runs no code.
 */
async function wake(cp: ControlPlane, name: string, signal?: AbortSignal): Promise<void> {
  try {
    await cp.control.send(new InvokeCommand({ FunctionName: name, InvocationType: "DryRun" }), { abortSignal: signal });
  } catch (err) {
    if ((err as Error).name !== "ResourceConflictException") throw configError(err, `waking up the Inactive function ${name}`, cp.config, signal);
  }
}

async function waitFor(cp: ControlPlane, what: "active" | "updated", name: string, signal?: AbortSignal): Promise<void> {
  const w = cp.config.waiter;
  const params = { client: cp.control, minDelay: w.minDelay, maxDelay: w.maxDelay, maxWaitTime: w.maxWaitTime, ...(signal ? { abortSignal: signal } : {}) };
  try {
    if (what === "active") await waitUntilFunctionActiveV2(params, { FunctionName: name });
    else await waitUntilFunctionUpdatedV2(params, { FunctionName: name });
  } catch (err) {
    if (signal?.aborted) throw new SuperfaasError("CANCELLED", `lambda: cancelled while waiting for ${name}`, "nothing ran; run again", { cause: err });
    const conf = await cp.control.send(new GetFunctionCommand({ FunctionName: name })).then(
      (r) => r.Configuration,
      () => undefined,
    );
    const reason = what === "active" ? conf?.StateReason : conf?.LastUpdateStatusReason;
    throw new SuperfaasError(
      "BACKEND_CONFIG",
      `lambda: function ${name} did not become ${what === "active" ? "Active" : "Updated"} (state ${conf?.State ?? "unknown"}, last update ${conf?.LastUpdateStatus ?? "unknown"})${reason ? `: ${reason}` : ""}`,
      "check the function in the Lambda console or with `aws lambda get-function`; a role the function cannot assume or a bad runtime are the usual causes",
      { cause: err },
    );
  }
}

/** Deletes the function if it carries this run's owner tag (best effort: a clean-up after a cancelled create). */
async function removeIfOurs(control: LambdaClient, name: string, runId: string): Promise<void> {
  try {
    const found = await control.send(new GetFunctionCommand({ FunctionName: name }));
    if (found.Tags?.["superfaas-run"] === runId) await removeFunction(control, name);
  } catch {
    // Not there (it was never made), or unreachable: nothing more to do.
  }
}

/** Deletes the function. */
export async function removeFunction(control: LambdaClient, name: string): Promise<void> {
  await control.send(new DeleteFunctionCommand({ FunctionName: name }));
}

/** Every `superfaas-*` function tagged by superfaas: ListFunctions page by page (Marker), then its tags (GetFunction). */
export async function listOwnedFunctions(control: LambdaClient): Promise<OwnedFunction[]> {
  const out: OwnedFunction[] = [];
  let marker: string | undefined;
  do {
    const page = await control.send(new ListFunctionsCommand({ MaxItems: 50, ...(marker ? { Marker: marker } : {}) }));
    for (const f of page.Functions ?? []) {
      const name = f.FunctionName;
      if (!name?.startsWith("superfaas-")) continue;
      const tags = await control.send(new GetFunctionCommand({ FunctionName: name })).then(
        (r) => r.Tags ?? {},
        () => ({}) as Record<string, string>,
      );
      const runId = tags["superfaas-run"];
      if (tags.superfaas !== "superfaas" || !runId) continue;
      out.push({ name, owner: { tool: "superfaas", runId, createdAt: tags["superfaas-created"] ?? "", job: tags["superfaas-job"] ?? "", ...(tags["superfaas-kept"] === "true" ? { kept: true as const } : {}) } });
    }
    marker = page.NextMarker;
  } while (marker);
  return out;
}

/** The log group Lambda writes a function's logs to. */
export function logGroupOf(name: string): string {
  return `/aws/lambda/${name}`;
}

/** Deletes a log group; one already gone is no error. */
export async function removeLogGroup(logs: CloudWatchLogsClient, group: string): Promise<void> {
  try {
    await logs.send(new DeleteLogGroupCommand({ logGroupName: group }));
  } catch (err) {
    if ((err as Error).name !== "ResourceNotFoundException") throw err;
  }
}
