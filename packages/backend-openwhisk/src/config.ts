import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { SuperfaasError } from "@superfaas/core";
import type { S3StoreConfig } from "@superfaas/store-s3";

/** Everything the OpenWhisk backend can be told, from flags or code. Unset values come from the environment. */
export interface OpenWhiskOptions {
  /** API host, e.g. `https://openwhisk.apps.example.com` or `localhost:3233` (https assumed without a scheme). */
  apihost?: string;
  /** `uuid:key`, as `wsk property set --auth` takes it. */
  auth?: string;
  /** Namespace; `_` means the credentials' default namespace. */
  namespace?: string;
  /** Accept self-signed certificates (local OpenShift routes). */
  insecure?: boolean;
  /**
   * Action runtime kind, e.g. `nodejs:20` or `nodejs:default` (default: the newest Node.js kind the deployment
   * offers, read from the controller's info document). A kind the deployment does not offer is refused.
   */
  kind?: string;
  /** Action memory in MB, within the deployment's bounds (128–512 on a stock one; default 256, or the nearest bound). */
  memory?: number;
  /** Action time limit in seconds, within the deployment's bounds (0.1–300 on a stock one; default 300, or its maximum). */
  actionTimeout?: number;
  /**
   * The shortest response time limit of any proxy between here and the controller, in seconds (default 30: an
   * OpenShift route's). Blocking invocations ask the controller to answer within 80% of it (and at most its own
   * 60 s), so a long activation answers 202 and is polled instead of being cut with a 504.
   */
  proxyTimeout?: number;
  /**
   * Deadline of each call to the controller that is not an invocation (info, deploy, delete, polls), in seconds
   * (default 30); an invocation's answer may take its blocking time plus this. An endpoint that accepts connections
   * and never answers fails within it.
   */
  requestTimeout?: number;
  /** Activations one container may run at once (limits.concurrency, default 1). */
  actionConcurrency?: number;
  /** Keep the action after the run (it is deleted otherwise). */
  keep?: boolean;
  /** Most invocations in flight (default 30, a stock deployment's per-namespace limit). */
  maxInFlight?: number;
  /**
   * How long past the action's time limit an activation may stay unrecorded before it counts as lost and is
   * invoked again, in ms (default 10 000: records can lag a little behind under load).
   */
  activationGraceMs?: number;
  /** Bucket for payloads over the 1 MB parameter/result limits (S3-compatible: Ceph RGW, MinIO, Swift S3). */
  bucket?: string;
  s3Endpoint?: string;
  s3Region?: string;
  /** Path of the wsk properties file (default `$WSK_CONFIG_FILE` or `~/.wskprops`). */
  wskprops?: string;
  /** Environment to read (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/** Settings after resolution and validation. */
export interface OpenWhiskConfig {
  apihost: string;
  auth: string;
  namespace: string;
  insecure: boolean;
  /** Undefined: the newest Node.js kind the deployment offers. */
  kind: string | undefined;
  memory: number;
  actionTimeoutMs: number;
  actionConcurrency: number;
  /** Which of memory and the action time limit were given (the defaults move into the deployment's bounds). */
  given: { memory: boolean; actionTimeout: boolean; maxInFlight: boolean };
  proxyTimeoutMs: number;
  requestTimeoutMs: number;
  keep: boolean;
  maxInFlight: number;
  activationGraceMs: number;
  s3?: S3StoreConfig;
}

/** Parses a wsk properties file (`KEY=value` lines). */
export function parseWskprops(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

const bad = (what: string, hint: string): never => {
  throw new SuperfaasError("BACKEND_CONFIG", `openwhisk: ${what}`, hint);
};

const schema = z.object({
  apihost: z.string().min(1),
  auth: z.string().regex(/^[^:\s]+:[^:\s]+$/, "must look like UUID:KEY"),
  namespace: z.string().min(1),
  kind: z
    .string()
    .regex(/^nodejs:(\d+|default)$/, "must be a Node.js kind such as nodejs:20 or nodejs:default")
    .optional(),
  memory: z.number().int().min(1),
  actionTimeoutMs: z.number().int().min(1),
  actionConcurrency: z.number().int().min(1).max(500),
  proxyTimeoutMs: z.number().int().min(200),
  requestTimeoutMs: z.number().int().min(100),
  maxInFlight: z.number().int().min(1),
  activationGraceMs: z.number().int().min(0),
});

/** Resolves flags, then `__OW_*` environment variables, then the wsk properties file; throws BACKEND_CONFIG naming what is missing. */
export function resolveOpenWhiskConfig(o: OpenWhiskOptions = {}): OpenWhiskConfig {
  const env = o.env ?? process.env;
  const propsPath = o.wskprops ?? env.WSK_CONFIG_FILE ?? join(homedir(), ".wskprops");
  let props: Record<string, string> = {};
  try {
    props = parseWskprops(readFileSync(propsPath, "utf8"));
  } catch (err) {
    if (o.wskprops) bad(`cannot read ${propsPath}: ${(err as Error).message}`, "check the --wskprops path");
  }
  const apihost = o.apihost ?? env.__OW_API_HOST ?? props.APIHOST;
  const auth = o.auth ?? env.__OW_API_KEY ?? props.AUTH;
  if (!apihost) bad("the API host is not set", `pass --apihost, set __OW_API_HOST, or run \`wsk property set --apihost HOST\` (writes ${propsPath})`);
  if (!auth) bad("the auth key is not set", `pass --auth UUID:KEY, set __OW_API_KEY, or run \`wsk property set --auth UUID:KEY\` (writes ${propsPath})`);
  const insecure = o.insecure ?? (env.__OW_IGNORE_CERTS === "true" || props.INSECURE_SSL === "true");
  const candidate = {
    apihost: /^https?:\/\//.test(apihost!) ? apihost!.replace(/\/+$/, "") : `https://${apihost}`,
    auth: auth!,
    namespace: o.namespace ?? env.__OW_NAMESPACE ?? props.NAMESPACE ?? "_",
    kind: o.kind,
    memory: o.memory ?? 256,
    actionTimeoutMs: Math.round((o.actionTimeout ?? 300) * 1000),
    actionConcurrency: o.actionConcurrency ?? 1,
    proxyTimeoutMs: Math.round((o.proxyTimeout ?? 30) * 1000),
    requestTimeoutMs: Math.round((o.requestTimeout ?? 30) * 1000),
    maxInFlight: o.maxInFlight ?? 30,
    activationGraceMs: o.activationGraceMs ?? 10_000,
  };
  const parsed = schema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0]);
    const flag = { apihost: "--apihost", auth: "--auth", namespace: "--namespace", kind: "--kind", memory: "--memory", actionTimeoutMs: "--action-timeout", actionConcurrency: "--action-concurrency", maxInFlight: "--concurrency", proxyTimeoutMs: "--proxy-timeout", requestTimeoutMs: "--request-timeout" }[field] ?? field;
    bad(`invalid ${flag}: ${issue.message}`, field === "auth" ? "the key is two parts separated by a colon, as in ~/.wskprops AUTH=" : `fix ${flag}`);
  }
  try {
    new URL(candidate.apihost);
  } catch {
    bad(`invalid API host ${JSON.stringify(apihost)}`, "give a host name with an optional port and scheme, e.g. https://openwhisk.example.com or localhost:3233");
  }
  const bucket = o.bucket ?? env.SUPERFAAS_BUCKET;
  const s3Endpoint = o.s3Endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const s3: S3StoreConfig | undefined = bucket
    ? {
        bucket,
        region: o.s3Region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
        ...(s3Endpoint ? { endpoint: s3Endpoint, forcePathStyle: true } : {}),
        ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
          ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } }
          : {}),
      }
    : undefined;
  if (s3 && !s3.credentials) {
    bad(
      `bucket ${bucket} is set but no S3 credentials are`,
      "actions reach the bucket with keys bound as a parameter: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (an access key of the object store)",
    );
  }
  const given = { memory: o.memory !== undefined, actionTimeout: o.actionTimeout !== undefined, maxInFlight: o.maxInFlight !== undefined };
  return { ...candidate, given, insecure, keep: o.keep ?? false, ...(s3 ? { s3 } : {}) };
}
