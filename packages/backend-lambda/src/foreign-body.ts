// An answer that is not Lambda's JSON (a proxy's login or error page) reaches the SDK's parser as a stream the parser
// consumes, so its parse error carries no text to name the page by. This keeps such bodies as bytes first.

/** The most of a foreign answer kept: enough for a page's title and first words. */
const KEEP_BYTES = 64 * 1024;

type Next = (args: unknown) => Promise<{ response?: { headers?: Record<string, string | undefined>; body?: unknown } }>;

/**
 * Adds to a client's middleware stack, inside its deserializer, a step that reads a `text/*` answer's body into bytes
 * (at most KEEP_BYTES), so the SDK's `SyntaxError` carries it in `$response.body` for `describeAnswer`. JSON answers,
 * Lambda's own, pass untouched.
 */
export function keepForeignBodies(client: { middlewareStack: { add(middleware: unknown, options: object): void } }): void {
  const middleware = (next: Next) => async (args: unknown) => {
    const out = await next(args);
    const r = out.response;
    const type = r?.headers?.["content-type"] ?? "";
    const body = r?.body as AsyncIterable<Uint8Array> | undefined;
    if (r && /^\s*text\//i.test(type) && body && typeof body[Symbol.asyncIterator] === "function") {
      const parts: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of body) {
        parts.push(chunk);
        size += chunk.length;
        if (size >= KEEP_BYTES) break;
      }
      r.body = new Uint8Array(Buffer.concat(parts).subarray(0, KEEP_BYTES));
    }
    return out;
  };
  client.middlewareStack.add(middleware, { step: "deserialize", priority: "low", name: "superfaasKeepForeignBody" });
}
