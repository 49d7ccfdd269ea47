#!/usr/bin/env node
import { main } from "./main.js";

// superfaas supports Node.js 20.19+; the AWS SDK's multi-line notice about its future Node 22 requirement would
// otherwise interleave with every run's output. Set the variable to "false" to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const controller = new AbortController();
let interrupts = 0;
process.on("SIGINT", () => {
  // First Ctrl-C cancels the run (outstanding tasks are stopped and partial stats printed); a second one quits at once.
  if (++interrupts > 1) process.exit(130);
  process.stderr.write("\ncancelling: stopping outstanding tasks (Ctrl-C again to quit at once)\n");
  controller.abort();
});
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
