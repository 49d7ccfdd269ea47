import { describeConformance } from "@superfaas/core/conformance";
import { localBackend } from "../src/index.js";

describeConformance({ name: "local", createBackend: () => localBackend({ workers: 3, tasksPerWorker: 3 }) });
