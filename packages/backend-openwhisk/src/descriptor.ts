// The OpenWhisk backend as the CLI offers it by name: its flags and a factory. Light on purpose: the CLI loads every
// backend's descriptor to parse flags and list backends; the adapter loads only when an OpenWhisk backend is created.
import { functionBackendFlags, type BackendDescriptor } from "@superfaas/core";
import type { OpenWhiskOptions } from "./config.js";

/** The OpenWhisk backend as offered by name to the CLI. */
export const openWhiskBackendDescriptor: BackendDescriptor<OpenWhiskOptions> = {
  name: "openwhisk",
  description: "Apache OpenWhisk actions (settings: flags, __OW_* variables, ~/.wskprops)",
  flags: [
    { name: "apihost", value: "URL", description: "API host (default: __OW_API_HOST or APIHOST in ~/.wskprops)" },
    { name: "auth", value: "UUID:KEY", description: "auth key (default: __OW_API_KEY or AUTH in ~/.wskprops)" },
    { name: "namespace", value: "NS", description: "namespace (default: __OW_NAMESPACE, NAMESPACE in ~/.wskprops, or _)" },
    { name: "insecure", description: "accept self-signed certificates" },
    { name: "kind", value: "KIND", description: "action runtime kind, one the deployment offers (default: its newest nodejs kind)" },
    { name: "memory", value: "MB", type: "integer", description: "action memory, within the deployment's limits (default 256)" },
    { name: "action-timeout", value: "SECONDS", type: "number", description: "action time limit, within the deployment's limits (default 300, or its maximum)" },
    { name: "action-concurrency", value: "N", type: "integer", description: "activations one container runs at once (default 1)" },
    { name: "proxy-timeout", value: "SECONDS", type: "number", description: "shortest response time limit of the proxies in front of the controller (default 30, an OpenShift route's)" },
    { name: "request-timeout", value: "SECONDS", type: "number", description: "deadline of each call to the controller, beyond an invocation's blocking wait (default 30)" },
    ...functionBackendFlags({ function: "action", inlineLimit: "1 MB" }),
    { name: "s3-region", value: "REGION", description: "S3 region (default: AWS_REGION or us-east-1)" },
    { name: "wskprops", value: "PATH", description: "wsk properties file (default ~/.wskprops)" },
  ],
  create: async (options) => new (await import("./backend.js")).OpenWhiskBackend(options),
};
