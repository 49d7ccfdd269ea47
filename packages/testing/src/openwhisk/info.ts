// The controller's info document (`GET /`, Controller.scala `info`): runtimes and limits, no action concurrency.
import type { ControllerInfo } from "./options.js";
import type { Emulator } from "./model.js";
import { MB } from "./profile.js";

/** The controller's info document (`GET /`, Controller.scala `info`): runtimes and limits, no action concurrency. */
export function info(emu: Emulator): ControllerInfo {
  const o = emu.options;
  const l = emu.limits;
  const bounds = {
    min_action_duration: o.timeoutMs.min,
    max_action_duration: o.timeoutMs.max,
    min_action_memory: o.memoryMb.min * MB,
    max_action_memory: o.memoryMb.max * MB,
    min_action_logs: o.logsMb.min * MB,
    max_action_logs: o.logsMb.max * MB,
  };
  return {
    description: "OpenWhisk",
    support: { github: "https://github.com/apache/openwhisk/issues", slack: "http://slack.openwhisk.org" },
    api_paths: ["/api/v1"],
    limits: {
      actions_per_minute: l.invocationsPerMinute,
      triggers_per_minute: 60,
      concurrent_actions: l.concurrentInvocations,
      sequence_length: 50,
      ...Object.fromEntries(Object.entries(bounds).map(([k, v]) => [`default_${k}`, v])),
      ...bounds,
    },
    runtimes: {
      nodejs: o.kinds.map((k) => ({ kind: k.kind, image: k.image ?? `openwhisk/action-${k.kind.replace(":", "-v")}:nightly`, deprecated: k.deprecated ?? false, default: k.default ?? false, attached: false, requireMain: false })),
    },
  };
}
