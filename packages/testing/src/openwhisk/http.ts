// The controller's HTTP front end: answers in JSON (or a proxy's HTML page), basic auth, the optional front proxy
// that cuts slow responses, and the routing of /api/v1/namespaces/{ns}/{actions,activations}/... to their parts.
import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody } from "../http-body.js";
import { actionsRoute } from "./actions.js";
import { activationsRoute } from "./activations.js";
import { info } from "./info.js";
import { GATEWAY_TIMEOUT_PAGE, msg } from "./messages.js";
import type { Emulator } from "./model.js";
import { hex } from "./util.js";

/** Answers `body`: a string as an HTML page, anything else as JSON. Nothing once the response has gone. */
export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/html" : "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The controller's error answer: `{error, code}`. */
export function error(res: ServerResponse, status: number, error: string, headers?: Record<string, string>): void {
  send(res, status, { error, code: hex(16) }, headers);
}

/** Reads a body, keeping at most `limit` bytes as text; `size` counts all of it. */
export async function readText(req: IncomingMessage, limit: number): Promise<{ size: number; tooLarge: boolean; text: string }> {
  const { buf, size, tooLarge } = await readBody(req, limit);
  return { size, tooLarge, text: buf.toString("utf8") };
}

function authorized(emu: Emulator, req: IncomingMessage): boolean {
  const h = req.headers.authorization ?? "";
  const m = /^Basic\s+(\S+)$/i.exec(h);
  if (!m) return false;
  return Buffer.from(m[1]!, "base64").toString("utf8") === emu.auth;
}

/** Every request to the controller. */
export function handle(emu: Emulator, req: IncomingMessage, res: ServerResponse): void {
  emu.stats.requests++;
  const cutMs = emu.options.frontProxyTimeoutMs;
  if (cutMs > 0) {
    // A front proxy (an OpenShift route, an ingress) that cuts a response taking longer: the client gets its HTML
    // 504 and the connection closes, while whatever the controller was doing (an activation) goes on.
    const t = setTimeout(() => {
      emu.timers.delete(t);
      if (res.headersSent || res.destroyed) return;
      emu.stats.cut = (emu.stats.cut ?? 0) + 1;
      emu.send(res, 504, GATEWAY_TIMEOUT_PAGE, { connection: "close" });
    }, cutMs);
    emu.timers.add(t);
    res.once("close", () => {
      clearTimeout(t);
      emu.timers.delete(t);
    });
  }
  route(emu, req, res).catch((err) => {
    emu.error(res, 500, `emulator failure: ${err?.stack ?? err}`);
  });
}

async function route(emu: Emulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://emulator");
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 && req.method === "GET") {
    // Served to anyone (Controller.scala `routes`: `pathSingleSlash` outside authentication). Credentials sent here
    // are counted: a client has no reason to hand its key to whatever answers at the host's root.
    if (req.headers.authorization !== undefined) emu.stats.infoWithCredentials++;
    return emu.send(res, 200, info(emu));
  }
  if (parts[0] !== "api" || parts[1] !== "v1") return emu.error(res, 404, msg.notFound);
  if (parts.length === 2) {
    return emu.send(res, 200, { description: "OpenWhisk API", api_version: "1.0.0", api_version_path: "v1", build: "emulator", buildno: "emulator", swagger_paths: { ui: "/docs", "api-docs": "/api/v1/api-docs" } });
  }
  if (!authorized(emu, req)) return emu.error(res, 401, msg.unauthenticated);
  if (parts[2] !== "namespaces") return emu.error(res, 404, msg.notFound);
  if (parts.length === 3) return req.method === "GET" ? emu.send(res, 200, [emu.namespace]) : emu.error(res, 405, "Method not allowed.");
  const ns = parts[3] === "_" ? emu.namespace : parts[3]!;
  if (ns !== emu.namespace) return emu.error(res, 403, msg.notAuthorized(ns));
  const collection = parts[4];
  const rest = parts.slice(5);
  if (collection === "actions") return actionsRoute(emu, req, res, url, ns, rest);
  if (collection === "activations") return activationsRoute(emu, req, res, url, ns, rest);
  return emu.error(res, 404, msg.notFound);
}
