import { FunctionBackend } from "@superfaas/core";
import { resolveOpenWhiskConfig, type OpenWhiskConfig, type OpenWhiskOptions } from "./config.js";
import { OpenWhiskPlatform } from "./platform.js";

export { OPENWHISK_PAYLOAD_LIMIT } from "./platform.js";

/** Runs each task as an OpenWhisk activation of one action made from the job (core's FunctionBackend over OpenWhisk). */
export class OpenWhiskBackend extends FunctionBackend<OpenWhiskPlatform> {
  constructor(options: OpenWhiskOptions = {}) {
    super(new OpenWhiskPlatform(resolveOpenWhiskConfig(options)));
  }

  get config(): OpenWhiskConfig {
    return this.platform.config;
  }
}
