import { OpenWhiskBackend } from "./backend.js";
import type { OpenWhiskOptions } from "./config.js";

export { OpenWhiskBackend, OPENWHISK_PAYLOAD_LIMIT } from "./backend.js";
export { resolveOpenWhiskConfig, parseWskprops, type OpenWhiskOptions, type OpenWhiskConfig } from "./config.js";
export { openWhiskBackendDescriptor } from "./descriptor.js";

/** Creates an OpenWhisk backend; settings not given come from `__OW_*` variables and ~/.wskprops. */
export function openWhiskBackend(options: OpenWhiskOptions = {}): OpenWhiskBackend {
  return new OpenWhiskBackend(options);
}
