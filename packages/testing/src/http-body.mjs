// What both loopback servers need from a request: its body, kept up to the platform's limit, and its full size, so
// they can refuse an oversized request the way the platform does (413) after reading it to the end.

/**
 * Reads a request body, keeping at most `limit` bytes. `size` counts all of it; `buf` is empty when it went over.
 * @param {import("node:http").IncomingMessage} req
 * @param {number} limit
 * @returns {Promise<{ buf: Buffer; size: number; tooLarge: boolean }>}
 */
export function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on("error", reject);
    req.on("end", () => resolve({ buf: size <= limit ? Buffer.concat(chunks) : Buffer.alloc(0), size, tooLarge: size > limit }));
  });
}
