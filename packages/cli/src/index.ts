export { main, exitCodeFor, type Io } from "./main.js";
export { createContainer, resolveBackend, listBackends, BACKEND, builtInBackends } from "./container.js";
export { loadJob, EXAMPLES } from "./jobs.js";
