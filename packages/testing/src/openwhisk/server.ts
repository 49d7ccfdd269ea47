// A loopback stand-in for Apache OpenWhisk: the controller's REST API (actions, activations, namespaces, basic
// auth, per-namespace throttles, payload limits, the blocking window) and its invokers (warm containers per
// action, a container cap per invoker with queueing, action time limits). Every container is a real Node.js child
// process running proxy.js, which speaks the Node.js runtime protocol (/init, /run), so an action
// zip runs here as it would on the platform. Faults are injected on demand through methods of the emulator.
//
// This file is the public face (what @superfaas/testing exports of it) and, built, a program: run it on its own with
// `node dist/openwhisk/server.js '{"port":3233}'` (SERVER_SCRIPTS.openwhisk): it prints {url, auth, namespace} as one
// JSON line (bench/openwhisk-throughput.mjs runs it so, in a process of its own, with `instantActions` for no-op actions).
import { pathToFileURL } from "node:url";
import { startOpenWhiskEmulator } from "./emulator.js";

export { OpenWhiskEmulator, startOpenWhiskEmulator } from "./emulator.js";
export type {
  ActivationRecord,
  ActivationStatus,
  ControllerInfo,
  EmulatorContainer,
  EmulatorKind,
  OpenWhiskEmulatorLimits,
  OpenWhiskEmulatorOptions,
  OpenWhiskEmulatorStats,
  OpenWhiskProfile,
} from "./options.js";
export { PROFILES } from "./profile.js";

// `node server.js '{"port":3233,...}'`: serve until SIGINT/SIGTERM or until stdin closes (when a parent pipes it).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = process.argv[2] ? JSON.parse(process.argv[2]) : {};
  const emulator = await startOpenWhiskEmulator(options);
  process.stdout.write(`${JSON.stringify({ url: emulator.url, auth: emulator.auth, namespace: emulator.namespace, pid: process.pid })}\n`);
  const stop = async () => {
    await emulator.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // The stats, with this process's CPU time and memory, so a benchmark can tell whether the emulator kept up.
  process.on("message", (m) => {
    if (m === "stats") process.send?.({ stats: emulator.stats, cpu: process.cpuUsage(), memory: process.memoryUsage() });
  });
  if (!process.stdin.isTTY) {
    process.stdin.on("end", stop);
    process.stdin.resume();
  }
}
