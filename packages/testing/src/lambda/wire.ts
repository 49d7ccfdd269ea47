// What every API of the emulator does with a request before it looks at it: reads the whole body (bounded: its
// signature covers it), verifies its SigV4 signature, parses its JSON; and how it answers in JSON.
import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody } from "../http-body.js";
import { ApiError } from "./api-error.js";
import type { Emulator } from "./model.js";
import { SignatureError, type SignatureVerifier } from "./sigv4.js";

/** The body of a signed request, at most `limit` bytes; `tooLarge` is the API's 413 for a longer one. */
export async function readSigned(emu: Emulator, req: IncomingMessage, limit: number, verify: SignatureVerifier, tooLarge: () => ApiError): Promise<Buffer> {
  const { buf, size } = await readBody(req, limit);
  if (size >= limit) throw tooLarge();
  try {
    await verify(req, buf);
  } catch (err) {
    if (!(err instanceof SignatureError)) throw err;
    emu.stats.refusedSignatures++;
    throw new ApiError(err.status, err.type, err.message);
  }
  return buf;
}

/** A request's JSON body ({} when empty), or SerializationException. */
export function readJson<T>(buf: Buffer): T {
  try {
    return buf.length ? JSON.parse(buf.toString("utf8")) : ({} as T);
  } catch (err) {
    throw new ApiError(400, "SerializationException", `Could not parse request body: ${(err as Error).message}`);
  }
}

/** Answers with a JSON value (204: no body). */
export function sendJson(res: ServerResponse, status: number, value?: unknown): void {
  if (status === 204) return void res.writeHead(204).end();
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
}

/** Counts an API call by its operation's name. */
export const count = (emu: Emulator, op: string): number => (emu.stats.calls[op] = (emu.stats.calls[op] ?? 0) + 1);
