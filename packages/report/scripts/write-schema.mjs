// Writes report.schema.json from the zod schema in src/schema.ts (through the built dist/), for
// `pnpm --filter @superfaas/report schema`. The schema test only compares: it never writes the file.
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { reportJsonSchema } from "../dist/index.js";

const file = fileURLToPath(new URL("../report.schema.json", import.meta.url));
await writeFile(file, `${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${file}\n`);
