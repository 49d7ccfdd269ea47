#!/usr/bin/env node
// Runs the Lambda emulator in a process of its own, so a benchmark measures its client without the server's work.
// Options come as JSON in LAMBDA_EMULATOR_OPTIONS. Under `fork`, it sends {endpoint, region} over IPC, answers
// "stats" with the counters, and stops when the parent disconnects; otherwise it prints {endpoint} and runs until
// SIGINT/SIGTERM. Runs as the built dist/lambda/serve.js (SERVER_SCRIPTS.lambda of @superfaas/testing).
import { startLambdaEmulator } from "./lambda-emulator.js";

const emulator = await startLambdaEmulator(JSON.parse(process.env.LAMBDA_EMULATOR_OPTIONS ?? "{}"));
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await emulator.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (process.send) {
  process.on("disconnect", stop);
  process.on("message", (msg) => {
    if (msg === "stats") process.send?.({ stats: emulator.stats });
    if (msg === "stop") void stop();
  });
  process.send({ endpoint: emulator.endpoint, region: emulator.region });
} else {
  console.log(JSON.stringify({ endpoint: emulator.endpoint, region: emulator.region }));
}
