// What the CLI tests share: running `main` in-process with captured output.
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { BackendDescriptor } from "@superfaas/core";
import { createContainer } from "../src/container.js";
import { main } from "../src/main.js";

/** The path of a file under test/fixtures. */
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A writable stream that keeps what was written. */
export function capture() {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return {
    stream,
    get text() {
      return text;
    },
  };
}

/** Runs the CLI with `args` (and, when given, only `backends` registered); returns its exit code and output. */
export async function cli(args: string[], opts: { signal?: AbortSignal; backends?: BackendDescriptor<never>[] } = {}) {
  const out = capture();
  const err = capture();
  const code = await main(
    args,
    { stdout: out.stream, stderr: err.stream, ...(opts.signal ? { signal: opts.signal } : {}) },
    opts.backends ? { container: createContainer(opts.backends) } : {},
  );
  return { code, stdout: out.text, stderr: err.text };
}
