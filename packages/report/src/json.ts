import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";

// What a `tasks` array is swapped for while the rest of the value is laid out; JSON escapes the NULs, so the
// placeholder cannot be confused with text of the value itself.
const PLACEHOLDER = /"\\u0000superfaas-tasks-(\d+)\\u0000"/g;
/** Task records per chunk: big enough to keep writes few, small enough to keep each string short. */
const BATCH = 2_000;

/**
 * Pretty-printed JSON of `value` and a newline, in chunks, with every `tasks` array written one element per line. A run of a
 * million tasks would otherwise be one string of a few hundred MB (close to V8's limit on string length) and twice
 * that in memory; in chunks, memory stays at the size of a batch and the file at about half the size.
 */
export function* jsonChunks(value: unknown): Generator<string> {
  const arrays: unknown[][] = [];
  const text = JSON.stringify(
    value,
    (key, v: unknown) => {
      if (key !== "tasks" || !Array.isArray(v)) return v;
      arrays.push(v);
      return `\u0000superfaas-tasks-${arrays.length - 1}\u0000`;
    },
    2,
  );
  if (text === undefined) return;
  let at = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    yield text.slice(at, m.index);
    at = m.index + m[0].length;
    const items = arrays[Number(m[1])]!;
    if (items.length === 0) {
      yield "[]";
      continue;
    }
    const indent = text.slice(text.lastIndexOf("\n", m.index) + 1).match(/^ */)![0];
    const lines: string[] = [];
    for (let i = 0; i < items.length; i++) {
      lines.push(`${indent}  ${JSON.stringify(items[i]) ?? "null"}`);
      if (lines.length === BATCH || i === items.length - 1) {
        yield `${i < BATCH ? "[\n" : ",\n"}${lines.join(",\n")}`;
        lines.length = 0;
      }
    }
    yield `\n${indent}]`;
  }
  yield `${text.slice(at)}\n`;
}

/** Writes chunks to a stream, waiting whenever it asks to (so a slow reader of stdout never piles them up). */
export async function writeChunks(stream: NodeJS.WritableStream, chunks: Iterable<string>): Promise<void> {
  for (const chunk of chunks) if (!stream.write(chunk)) await once(stream, "drain");
}

/** Writes chunks to a file through a temporary one, so a failure half way never leaves a truncated file behind. */
export async function writeFileChunks(path: string, chunks: Iterable<string>): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  try {
    await once(out, "open");
    await writeChunks(out, chunks);
    out.end();
    await once(out, "finish");
    await rename(tmp, path);
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
}
