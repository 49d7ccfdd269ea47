// Data tasks read themselves: object listing, byte-range reading and record splitting, and result stores.
export * from "./store.js";
export * from "./objects.js";
export * from "./object-reader.js";
export * from "./object-list.js";
