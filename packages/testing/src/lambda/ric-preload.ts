// Loaded (node --import, as the built dist/lambda/ric-preload.js) into an execution environment that runs AWS's
// runtime interface client, so the emulator can inject a crash: over the IPC channel it asks the process to exit with
// a given status mid-invocation.
process.on("message", (msg: { type?: string; code?: number } | null) => {
  if (msg?.type === "exit") process.exit(msg.code ?? 1);
});
// The IPC channel must not keep the process alive on its own, nor outlive the emulator.
process.channel?.unref?.();
process.on("disconnect", () => process.exit(0));
