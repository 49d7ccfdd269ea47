// The run journal: an append-only, CRC-framed record of one run that lets it outlive its process (format, writer,
// reader, and the catalog of runs with their liveness).
export * from "./format.js";
export * from "./writer.js";
export { readJournal } from "./reader.js";
export * from "./catalog.js";
