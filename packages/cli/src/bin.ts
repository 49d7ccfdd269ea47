#!/usr/bin/env node
import { main } from "./main.js";

// superfaas supports Node.js 20.19+; the AWS SDK's multi-line notice about its future Node 22 requirement would
// otherwise interleave with every run's output. Set the variable to "false" to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// The shell's convention: a process ended by signal N exits with 128 + N.
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

const controller = new AbortController();
let received: keyof typeof SIGNAL_EXIT | undefined;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    // The first signal cancels the run: outstanding tasks are stopped, what the run deployed or stored is removed,
    // and partial stats are printed. A second one quits at once.
    if (received) process.exit(SIGNAL_EXIT[sig]);
    received = sig;
    process.stderr.write(`\ncancelling (${sig}): stopping outstanding tasks and cleaning up (${sig === "SIGINT" ? "Ctrl-C" : "signal"} again to quit at once)\n`);
    controller.abort();
  });
}
const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
process.exitCode = received && code !== 0 ? SIGNAL_EXIT[received] : code;
// A cancelled run has cleaned up by now: what a job left in flight (a request it did not hand the run's signal) must
// not hold the process for its own timeout. The timer holds nothing itself (unref): a clean exit comes first.
if (received) setTimeout(() => process.exit(), 1000).unref();
