// The module piscina's worker threads load. piscina loads its worker module with require() first, and on Node.js
// 20.19+ require() of an ES module (the job's bundle) goes through require(esm): a worker terminated while it is in
// there (a pool destroyed as a failed run ends) trips an assertion in Node's module loader, which aborts the whole
// process. This CommonJS file is what gets required; it imports the bundle through the ES module loader instead.
"use strict";
const { Piscina } = require("piscina");

let run;
/** Runs one attempt with the bundle's default export (worker-entry.ts), importing the bundle once per worker. */
module.exports = function runAttempt(payload) {
  run ??= import(Piscina.workerData.bundleUrl).then((m) => m.default);
  return run.then((fn) => fn(payload));
};
