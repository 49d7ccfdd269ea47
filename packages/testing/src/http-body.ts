// What both loopback servers need from a request: its body, kept up to the platform's limit, and its full size, so
// they can refuse an oversized request the way the platform does (413) after reading it to the end.
import type { IncomingMessage } from "node:http";

/** Reads a request body, keeping at most `limit` bytes. `size` counts all of it; `buf` is empty when it went over. */
export function readBody(req: IncomingMessage, limit: number): Promise<{ buf: Buffer; size: number; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on("error", reject);
    req.on("end", () => resolve({ buf: size <= limit ? Buffer.concat(chunks) : Buffer.alloc(0), size, tooLarge: size > limit }));
  });
}
