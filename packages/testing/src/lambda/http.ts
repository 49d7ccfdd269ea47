// The HTTP front end: Lambda's REST-JSON routes (2015-03-31 functions, 2017-10-31 concurrency) and CloudWatch Logs'
// JSON 1.1 calls at the same endpoint, every request signed (SigV4), and errors answered in Lambda's shape.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { ApiError, validation } from "./api-error.js";
import { type CodeRequest, createFunction, deleteFunction, type FunctionRequest, lookup, updateCode, updateConfiguration } from "./functions.js";
import { invoke } from "./invoke.js";
import { logsApi } from "./logs.js";
import type { Emulator } from "./model.js";
import { CONTROL_BODY_LIMIT, LIST_PAGE, REQUEST_LIMIT } from "./profile.js";
import { type SignatureVerifier, sigV4Verifier } from "./sigv4.js";
import { count, readJson, readSigned, sendJson as json } from "./wire.js";

/** What the emulator hands its callers; requests signed with these (or with the environments' credentials) are accepted. */
export const CLIENT_CREDENTIALS = Object.freeze({ accessKeyId: "AKIDEMULATORCLIENT", secretAccessKey: "emulator-client-secret" });

async function route(emu: Emulator, verify: { lambda: SignatureVerifier; logs: SignatureVerifier }, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const url = new URL(req.url ?? "/", "http://emulator");
  const parts = url.pathname.split("/").filter(Boolean);
  const method = req.method;
  const target = req.headers["x-amz-target"];
  if (method === "POST" && parts.length === 0 && typeof target === "string" && target.startsWith("Logs_20140328.")) return logsApi(emu, verify.logs, req, res, target);
  const [version, kind, rawName, sub] = parts;
  // The whole body first (bounded): its signature covers it. Synchronous invocations take 6 MB, the rest a zip's worth.
  const isInvoke = sub === "invocations" && method === "POST";
  const limit = isInvoke ? REQUEST_LIMIT : CONTROL_BODY_LIMIT;
  const buf = await readSigned(emu, req, limit, verify.lambda, () => {
    const op = isInvoke ? "InvokeFunction" : sub === "code" ? "UpdateFunctionCode" : "CreateFunction";
    return new ApiError(413, "RequestEntityTooLargeException", `Request must be smaller than ${limit} bytes for the ${op} operation`);
  });
  if (kind !== "functions") throw new ApiError(404, "UnknownOperationException", `Unknown operation ${method} ${url.pathname}`);
  if (version === "2015-03-31") {
    if (!rawName) {
      if (method === "POST") return count(emu, "CreateFunction"), json(res, 201, createFunction(emu, readJson<FunctionRequest>(buf)));
      if (method === "GET") {
        // Pages of at most 50 (MaxItems 1..50, the API model's bound), NextMarker while more remain, as Lambda does.
        count(emu, "ListFunctions");
        const max = url.searchParams.has("MaxItems") ? Number(url.searchParams.get("MaxItems")) : LIST_PAGE.max;
        if (!Number.isInteger(max) || max < 1 || max > LIST_PAGE.max) {
          throw new ApiError(400, "InvalidParameterValueException", `1 validation error detected: Value '${url.searchParams.get("MaxItems")}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to ${LIST_PAGE.max}`);
        }
        const all = [...emu.functions.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
        const marker = url.searchParams.get("Marker");
        const from = marker ? all.findIndex((f) => f.name > marker) : 0;
        const page = from < 0 ? [] : all.slice(from, from + max);
        const more = from >= 0 && from + max < all.length;
        return json(res, 200, { Functions: page.map((f) => f.config), ...(more ? { NextMarker: page.at(-1)?.name } : {}) });
      }
    } else if (!sub) {
      if (method === "GET") {
        count(emu, "GetFunction");
        const fn = lookup(emu, rawName);
        return json(res, 200, {
          Configuration: fn.config,
          Code: { RepositoryType: "S3", Location: `http://${req.headers.host}/emulator/code/${fn.name}` },
          Tags: fn.tags,
          ...(fn.reserved !== undefined ? { Concurrency: { ReservedConcurrentExecutions: fn.reserved } } : {}),
        });
      }
      if (method === "DELETE") return count(emu, "DeleteFunction"), deleteFunction(emu, lookup(emu, rawName)), json(res, 204);
    } else if (sub === "configuration") {
      if (method === "GET") return count(emu, "GetFunctionConfiguration"), json(res, 200, lookup(emu, rawName).config);
      if (method === "PUT") {
        count(emu, "UpdateFunctionConfiguration");
        const fn = lookup(emu, rawName);
        return json(res, 200, updateConfiguration(emu, fn, readJson<FunctionRequest>(buf)));
      }
    } else if (sub === "code" && method === "PUT") {
      count(emu, "UpdateFunctionCode");
      const fn = lookup(emu, rawName);
      return json(res, 200, updateCode(emu, fn, readJson<CodeRequest>(buf)));
    } else if (sub === "invocations" && method === "POST") {
      count(emu, "Invoke");
      return invoke(emu, req, res, lookup(emu, rawName), requestId, url, buf);
    }
  } else if ((version === "2017-10-31" || version === "2019-09-30") && rawName && sub === "concurrency") {
    const fn = lookup(emu, rawName);
    if (method === "PUT") {
      count(emu, "PutFunctionConcurrency");
      const body = readJson<{ ReservedConcurrentExecutions?: unknown }>(buf);
      const n = body.ReservedConcurrentExecutions;
      if (!Number.isInteger(n) || (n as number) < 0) throw validation("reservedConcurrentExecutions", n, "Member must have value greater than or equal to 0");
      fn.reserved = n as number;
      return json(res, 200, { ReservedConcurrentExecutions: n });
    }
    if (method === "GET") return count(emu, "GetFunctionConcurrency"), json(res, 200, fn.reserved !== undefined ? { ReservedConcurrentExecutions: fn.reserved } : {});
    if (method === "DELETE") return count(emu, "DeleteFunctionConcurrency"), (fn.reserved = undefined), json(res, 204);
  }
  throw new ApiError(404, "UnknownOperationException", `Unknown operation ${method} ${url.pathname}`);
}

/** The emulator's HTTP server (not yet listening). */
export function lambdaServer(emu: Emulator): Server {
  const credentials = [emu.credentials, CLIENT_CREDENTIALS];
  const verify = {
    lambda: sigV4Verifier({ region: emu.region, service: "lambda", credentials }),
    logs: sigV4Verifier({ region: emu.region, service: "logs", credentials }),
  };
  const server = createServer((req, res) => {
    const requestId = randomUUID();
    res.setHeader("x-amzn-RequestId", requestId);
    route(emu, verify, req, res, requestId).catch((err) => {
      // Drain what the client still sends, so it reads our answer instead of a reset connection.
      req.resume();
      if (res.headersSent) return void res.destroy();
      if (err instanceof ApiError) {
        const body = JSON.stringify({ Type: err.status >= 500 ? "Service" : "User", message: err.message, ...err.extra });
        res.writeHead(err.status, { "content-type": "application/json", "x-amzn-errortype": err.type, ...err.headers }).end(body);
      } else {
        const body = JSON.stringify({ Type: "Service", message: String(err?.stack ?? err) });
        res.writeHead(500, { "content-type": "application/json", "x-amzn-errortype": "ServiceException" }).end(body);
      }
    });
  });
  server.on("connection", () => emu.stats.connections++);
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 35_000;
  server.requestTimeout = 0;
  return server;
}
