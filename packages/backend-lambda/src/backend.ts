import { FunctionBackend, type FunctionUsage } from "@superfaas/core";
import { resolveLambdaConfig, type LambdaConfig, type LambdaOptions } from "./config.js";
import type { LambdaInvoker } from "./invoke.js";
import { LambdaPlatform } from "./platform.js";

/** Usage the backend saw, failed attempts included (core's FunctionUsage). */
export type LambdaUsage = FunctionUsage;

/** Runs each task as a synchronous invocation of one Lambda function made from the job (core's FunctionBackend over Lambda). */
export class LambdaBackend extends FunctionBackend<LambdaPlatform> {
  /** Estimated cost in US dollars: billed GB-seconds at the architecture's price plus the request charge. */
  declare readonly estimateCost: (usage: { invocations: number; billedMs: number }) => number;

  constructor(options: LambdaOptions = {}) {
    super(new LambdaPlatform(resolveLambdaConfig(options)));
  }

  get config(): LambdaConfig {
    return this.platform.config;
  }

  /** Sends the invocations (see LambdaInvoker for its two paths). */
  get invoker(): LambdaInvoker {
    return this.platform.invoker;
  }
}
