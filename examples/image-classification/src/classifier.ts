// One classifier per engine per worker: loading decodes the weights and starts the backend (tens of ms), which a
// warm worker or container must not pay again for every task.
import { createClassifier, type Classifier } from "./model.js";
import { STORED_MODEL } from "./model-weights.js";
import type { Engine } from "./engine.js";

const cache = new Map<Engine, Promise<Classifier>>();
let loads = 0;

/** The bundled model on `engine`, loaded on first use and then shared by every task this worker runs. */
export function loadClassifier(engine: Engine = "wasm"): Promise<Classifier> {
  let hit = cache.get(engine);
  if (!hit) {
    loads++;
    hit = createClassifier(STORED_MODEL, engine);
    // A failed load is not cached, so a later task may try again.
    hit.catch(() => cache.delete(engine));
    cache.set(engine, hit);
  }
  return hit;
}

/** How many times this worker has loaded the model (tests check it stays at one per engine). */
export function classifierLoads(): number {
  return loads;
}
